"""pickle, joblib, device moves, and the code-free save/load format."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from conftest import FAST, save_as_version

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._persistence import FORMAT_VERSION


@pytest.mark.parametrize("fixture", ["fitted_images", "fitted_table"])
def test_save_load_scores_bitwise_identically(fixture, request, tmp_path):
    det = request.getfixturevalue(fixture)
    X = request.getfixturevalue("images" if fixture == "fitted_images" else "table")
    path = tmp_path / "model.pt"
    det.save(path)
    loaded = SkipGANomalyDetector.load(path)
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))
    np.testing.assert_array_equal(loaded.predict(X), det.predict(X))
    np.testing.assert_array_equal(loaded.decision_scores_, det.decision_scores_)
    assert loaded.threshold_ == det.threshold_
    assert loaded.get_params() == det.get_params()
    assert loaded.image_shape_ == det.image_shape_
    assert list(loaded.history_[:, "train_loss"]) == list(det.history_[:, "train_loss"])


def test_bf16_model_scores_the_same_after_loading(images, tmp_path):
    # Its image features are bfloat16: the loaded net must compute them so too.
    det = SkipGANomalyDetector(**FAST, precision="bf16", random_state=0).fit(images)
    det.save(tmp_path / "model.pt")
    loaded = SkipGANomalyDetector.load(tmp_path / "model.pt")
    assert loaded.net_.precision_ == "bf16"
    scores = loaded.decision_function(images)
    np.testing.assert_array_equal(scores, det.decision_scores_)


def test_saved_file_loads_without_unpickling(fitted_table, tmp_path):
    path = tmp_path / "model.pt"
    fitted_table.save(path)
    payload = torch.load(path, weights_only=True)  # refuses any pickled object
    assert payload["format_version"] == FORMAT_VERSION


def test_tampered_file_is_refused(fitted_table, tmp_path):
    path = tmp_path / "model.pt"
    fitted_table.save(path)
    payload = torch.load(path, weights_only=True)
    name = next(k for k in payload["tensors"] if k.startswith("generator."))
    payload["tensors"][name] = payload["tensors"][name] + 1.0
    torch.save(payload, path)
    with pytest.raises(ValueError, match="SHA-256"):
        SkipGANomalyDetector.load(path)


def test_other_format_version_is_refused(fitted_table, tmp_path):
    path = tmp_path / "model.pt"
    fitted_table.save(path)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    torch.save(payload, path)
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}"):
        SkipGANomalyDetector.load(path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_pickle_file_is_refused_without_running_it(tmp_path):
    path = tmp_path / "model.pt"
    marker = tmp_path / "ran"
    path.write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(ValueError, match="not a sklearn_sganomaly model file"):
        SkipGANomalyDetector.load(path)
    assert not marker.exists()


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a sklearn_sganomaly model file"):
        SkipGANomalyDetector.load(path)


def test_unfitted_detector_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SkipGANomalyDetector().save(tmp_path / "model.pt")


def test_cuda_pickle_loads_on_cpu(fitted_images, images):
    """skorch's mechanism: a net pickled with device="cuda" unpickles on the CPU.

    Simulated by relabelling a CPU net; the real GPU round trip is in
    ``test_cuda_model_loads_on_cpu``.
    """
    expected = fitted_images.decision_function(images)
    det = pickle.loads(pickle.dumps(fitted_images))
    det.net_.device = "cuda"
    data = pickle.dumps(det)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skorch's DeviceWarning
        loaded = pickle.loads(data)
    if not torch.cuda.is_available():
        assert loaded.device_ == torch.device("cpu")
        np.testing.assert_array_equal(loaded.decision_function(images), expected)


@pytest.mark.gpu
def test_cuda_model_loads_on_cpu(images, tmp_path):
    det = SkipGANomalyDetector(**{**FAST, "device": "cuda"}, random_state=0)
    det.fit(images)
    det.save(tmp_path / "model.pt")
    loaded = SkipGANomalyDetector.load(tmp_path / "model.pt", device="cpu")
    np.testing.assert_allclose(
        loaded.decision_function(images), det.decision_function(images), rtol=1e-4
    )
    joblib.dump(det, tmp_path / "model.joblib")
    assert joblib.load(tmp_path / "model.joblib").device_.type == "cuda"


def test_interrupted_save_leaves_the_previous_file_intact(
    fitted_table, table, tmp_path, monkeypatch
):
    path = tmp_path / "model.pt"
    fitted_table.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="No space left"):
        fitted_table.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no partial file
    loaded = SkipGANomalyDetector.load(path)
    np.testing.assert_array_equal(
        loaded.decision_function(table), fitted_table.decision_function(table)
    )


def test_saving_into_a_missing_directory_names_it(fitted_table, tmp_path):
    missing = tmp_path / "no-such-dir"
    with pytest.raises(FileNotFoundError, match=r"no-such-dir.*does not exist"):
        fitted_table.save(missing / "model.pt")


def test_files_from_before_skip_dropout_load_as_trained(
    fitted_table, tmp_path, monkeypatch
):
    def before_training_options(metadata, tensors):
        params = dict(metadata["params"])
        del params["skip_dropout"], params["validation_scoring"]
        return metadata | {"params": params}, tensors

    save_as_version(fitted_table, tmp_path / "v3.pt", 3, before_training_options,
                    monkeypatch)  # fmt: skip
    loaded = SkipGANomalyDetector.load(tmp_path / "v3.pt")
    # Whatever the default is now, such a model was trained with every skip.
    assert loaded.skip_dropout == 0.0
    assert loaded.validation_scoring == "mean_score"


def test_files_with_the_official_innermost_kernels_load(
    fitted_images, images, tmp_path, monkeypatch
):
    # Until version 3 the generator's innermost layers stored the official
    # 4x4 kernels, of which only the central 2x2 taps meet pixels.
    gen = torch.Generator().manual_seed(0)

    def full_kernels(metadata, tensors):
        older = dict(tensors)
        for key, value in tensors.items():
            if key.startswith("generator.") and value.shape[2:] == (2, 2):
                kernel = torch.randn(*value.shape[:2], 4, 4, generator=gen)
                kernel[:, :, 1:3, 1:3] = value
                older[key] = kernel
        assert older.keys() == tensors.keys()
        assert sum(not torch.equal(older[k], tensors[k]) for k in tensors) == 2
        return metadata, older

    save_as_version(fitted_images, tmp_path / "v3.pt", 3, full_kernels, monkeypatch)
    loaded = SkipGANomalyDetector.load(tmp_path / "v3.pt")
    np.testing.assert_array_equal(
        loaded.decision_function(images), fitted_images.decision_function(images)
    )
