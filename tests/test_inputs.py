"""Every reasonable input works; every unreasonable one fails clearly; a memmap is
read in place, never copied as a whole."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from conftest import FAST, save_as_version
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._inputs import learn_input


def _images(n=20, shape=(1, 8, 8), seed=0):
    return np.random.RandomState(seed).randint(0, 256, size=(n, *shape)).astype(float)


GOOD = _images()
RAGGED = [[1.0, 2.0], [3.0]]
ONE_NAN = GOOD.copy()
ONE_NAN[3, 0, 2, 2] = np.nan
POS_INF = GOOD.copy()
POS_INF[0, 0, 0, 0] = np.inf
NEG_INF = GOOD.copy()
NEG_INF[5, 0, 7, 7] = -np.inf

# (id, constructor parameters, X given to fit, exception, message pattern)
BAD_FIT = [
    ("nan", {}, ONE_NAN, ValueError, "NaN"),
    ("plus-inf", {}, POS_INF, ValueError, "infinity"),
    ("minus-inf", {}, NEG_INF, ValueError, "infinity"),
    ("too-large-for-float32", {}, np.full((5, 3), 1e300), ValueError, "infinity"),
    ("empty", {}, np.empty((0, 4)), ValueError, "0 sample"),
    ("no-features", {}, np.empty((5, 0)), ValueError, "0 feature"),
    ("one-sample", {}, GOOD[:1], ValueError, "1 sample"),
    ("1-d", {}, np.arange(10.0), ValueError, "Expected 2D array"),
    ("5-d", {}, np.zeros((4, 1, 8, 8, 1)), ValueError, "dim 5"),
    ("ragged-list", {}, RAGGED, ValueError, "inhomogeneous"),
    ("strings", {}, np.array([["a", "b"], ["c", "d"]]), ValueError, "convert"),
    ("objects", {}, np.array([[object(), 1]] * 3), TypeError, "object"),
    ("complex", {}, np.ones((4, 2)) + 1j, ValueError, "Complex data"),
    ("sparse", {}, sp.csr_matrix(np.eye(4)), TypeError, "[Ss]parse"),
    ("none", {}, None, ValueError, "scalar array"),
    ("image-too-small", {}, _images(shape=(1, 4, 6)), ValueError, r"at least 8x8"),
    ("ambiguous-layout", {}, _images(shape=(6, 8, 8)), ValueError, "image_layout"),
    ("image-shape-features", {"image_shape": (1, 4, 4)}, GOOD.reshape(20, -1),
     ValueError, r"image_shape=\(1, 4, 4\).*64"),
    ("image-shape-not-3d", {"image_shape": (8, 8)}, GOOD.reshape(20, -1),
     ValueError, r"image_shape=\(8, 8\)"),
    ("image-shape-vs-4d", {"image_shape": (1, 4, 16)}, GOOD, ValueError,
     r"\(1, 4, 16\) does not match.*\(1, 8, 8\)"),
    ("batch-size-0", {"batch_size": 0}, GOOD, ValueError, "batch_size"),
    ("batch-size-negative", {"batch_size": -3}, GOOD, ValueError, "batch_size"),
    ("batch-size-float", {"batch_size": 2.5}, GOOD, ValueError, "batch_size"),
    ("contamination-high", {"contamination": 0.7}, GOOD, ValueError, "contamination"),
    ("contamination-zero", {"contamination": 0.0}, GOOD, ValueError, "contamination"),
    ("contamination-negative", {"contamination": -0.1}, GOOD, ValueError,
     "contamination"),
    ("epochs-0", {"epochs": 0}, GOOD, ValueError, "epochs"),
    ("learning-rate-0", {"learning_rate": 0.0}, GOOD, ValueError, "learning_rate"),
    ("score-weight", {"score_weight": 1.5}, GOOD, ValueError, "score_weight"),
    ("width-0", {"width": 0}, GOOD, ValueError, "width"),
    ("step-order", {"step_order": "random"}, GOOD, ValueError, "step_order"),
    ("precision", {"precision": "fp8"}, GOOD, ValueError, "precision"),
    ("image-layout", {"image_layout": "CHW"}, GOOD, ValueError, "image_layout"),
    ("unknown-device", {"device": "tpu"}, GOOD, ValueError, "'tpu'"),
    ("device-type", {"device": 3}, GOOD, ValueError, "device"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "X", "error", "message"),
    [case[1:] for case in BAD_FIT],
    ids=[case[0] for case in BAD_FIT],
)
def test_bad_fit_input_raises_a_clear_error(params, X, error, message):
    with pytest.raises(error, match=message):
        SkipGANomalyDetector(**{**FAST, **params}).fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda_fails_at_fit_with_a_clear_error(device):
    with pytest.raises(ValueError, match="CUDA is not available"):
        SkipGANomalyDetector(**{**FAST, "device": device}).fit(GOOD)


@pytest.fixture(scope="module")
def fitted():
    return SkipGANomalyDetector(**FAST, random_state=0).fit(GOOD)


BAD_PREDICT = [
    ("nan", ONE_NAN, "NaN"),
    ("inf", POS_INF, "infinity"),
    ("channels", _images(shape=(3, 8, 8)), r"\(3, 8, 8\).*\(1, 8, 8\)"),
    ("size", _images(shape=(1, 16, 16)), r"\(1, 16, 16\).*\(1, 8, 8\)"),
    ("features", np.zeros((3, 10)), "10 features.*expecting 64"),
    ("empty", np.empty((0, 64)), "0 sample"),
    ("sparse", sp.csr_matrix(np.ones((2, 64))), "[Ss]parse"),
    ("1-d", np.zeros(64), "Expected 2D array"),
]


@pytest.mark.parametrize(
    ("X", "message"), [c[1:] for c in BAD_PREDICT], ids=[c[0] for c in BAD_PREDICT]
)
@pytest.mark.parametrize(
    "method", ["decision_function", "predict", "score_samples", "predict_proba"]
)
def test_bad_predict_input_raises_a_clear_error(fitted, X, message, method):
    with pytest.raises((ValueError, TypeError), match=message):
        getattr(fitted, method)(X)


@pytest.mark.parametrize(
    "method", ["decision_function", "predict", "score_samples", "predict_proba"]
)
def test_unfitted_detector_raises_not_fitted(method):
    with pytest.raises(NotFittedError):
        getattr(SkipGANomalyDetector(), method)(GOOD)


def test_constant_images_fit_and_score():
    X = np.full((12, 1, 8, 8), 7.0)
    det = SkipGANomalyDetector(**FAST, random_state=0).fit(X)
    assert np.all(np.isfinite(det.decision_scores_))
    assert np.all(np.isfinite(det.decision_function(X + 1.0)))


def test_values_far_outside_the_training_range_score_finite_and_high(fitted):
    far = np.full((2, 1, 8, 8), 1e30)
    with pytest.warns(UserWarning, match="far outside"):
        scores = fitted.decision_function(far)
    assert np.all(np.isfinite(scores))
    assert scores.min() > fitted.decision_scores_.max()


@pytest.mark.parametrize("layout", ["auto", "NHWC"])
def test_channels_last_images_match_channels_first(layout):
    X = _images(shape=(3, 8, 8))
    nchw = SkipGANomalyDetector(**FAST, random_state=0).fit(X)
    nhwc = SkipGANomalyDetector(**FAST, image_layout=layout, random_state=0)
    nhwc.fit(np.moveaxis(X, 1, 3))
    assert nhwc.image_shape_ == (3, 8, 8)
    np.testing.assert_array_equal(nhwc.decision_scores_, nchw.decision_scores_)
    np.testing.assert_array_equal(
        nhwc.decision_function(np.moveaxis(X, 1, 3)), nchw.decision_function(X)
    )


def test_explicit_layout_resolves_an_ambiguous_shape():
    X = _images(shape=(6, 8, 8))
    det = SkipGANomalyDetector(**FAST, image_layout="NCHW", random_state=0).fit(X)
    assert det.image_shape_ == (6, 8, 8)


@pytest.mark.parametrize(
    ("shape", "network"),
    [((1, 8, 8), (1, 32, 32)), ((3, 20, 12), (3, 32, 32)), ((2, 33, 9), (2, 64, 64))],
)
def test_any_size_from_8_is_resized_to_a_power_of_two(shape, network):
    X = _images(n=8, shape=shape)
    det = SkipGANomalyDetector(**FAST, random_state=0).fit(X)
    assert det.image_shape_ == shape
    assert det.network_shape_ == network
    assert det.decision_function(X).shape == (8,)


def test_array_variants_give_identical_scores(fitted, tmp_path):
    expected = fitted.decision_function(GOOD)
    readonly = GOOD.copy()
    readonly.flags.writeable = False
    memmap = np.memmap(
        tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=GOOD.shape
    )
    memmap[:] = GOOD
    strided = np.repeat(GOOD, 2, axis=0)[::2]
    fortran = np.asfortranarray(GOOD.reshape(20, -1))
    # Integer dtypes are another scale (test_the_same_picture_scores_...).
    for X in (GOOD.astype(np.float16), GOOD.tolist(),
              readonly, memmap, strided, fortran):  # fmt: skip
        np.testing.assert_array_equal(fitted.decision_function(X), expected)


@pytest.mark.parametrize("fixture", ["fitted_images", "fitted_table"])
def test_empty_batch_is_refused_by_name(fixture, request):
    det = request.getfixturevalue(fixture)
    shape = (0, 1, 8, 8) if det.image_shape_ else (0, det.n_features_in_)
    with pytest.raises(ValueError, match="0 sample"):
        det.decision_function(np.empty(shape))


@pytest.mark.parametrize("fixture", ["fitted_images", "fitted_table"])
@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[ms]"])
def test_dates_and_time_spans_are_refused(fixture, dtype, request):
    det = request.getfixturevalue(fixture)
    shape = (3, 1, 8, 8) if det.image_shape_ else (3, det.n_features_in_)
    with pytest.raises(TypeError, match=r"dtype (datetime|timedelta)64"):
        det.decision_function(np.zeros(shape, dtype=dtype))
    with pytest.raises(TypeError, match="not numeric"):
        type(det)(epochs=1).fit(np.zeros(shape, dtype=dtype))


def test_batch_size_set_after_fit_batches_every_scoring_loop(images):
    det = SkipGANomalyDetector(**FAST, random_state=0).fit(images)
    before = det.decision_function(images)
    det.set_params(batch_size=7)
    read, generated = [], []
    iterator = det.net_.get_iterator

    def recording_iterator(*args, **kwargs):
        for batch in iterator(*args, **kwargs):
            read.append(len(batch[0]))
            yield batch

    det.net_.get_iterator = recording_iterator
    det.net_.module_.register_forward_hook(
        lambda m, i, out: generated.append(len(i[0]))
    )
    scores = det.decision_function(images[:20])
    det.anomaly_map(images[:20])
    # Every loop reads batches of 7; the generator of anomaly_map sees them.
    assert set(read) == set(generated) == {7, 6}
    np.testing.assert_array_equal(scores, before[:20])


# Integer images carry their range in their dtype (uint8 255 is full intensity).


@pytest.fixture(scope="module")
def pictures():
    """The same 40 pictures as floats in [0, 1], uint8 and uint16."""
    levels = np.random.RandomState(0).randint(0, 256, size=(40, 1, 8, 8))
    return {
        "float": levels / 255.0,
        "uint8": levels.astype(np.uint8),
        "uint16": (levels * 257).astype(np.uint16),
    }


@pytest.mark.parametrize("fit_dtype", ["float", "uint8"])
def test_the_same_picture_scores_the_same_in_any_dtype(pictures, fit_dtype):
    det = SkipGANomalyDetector(**FAST, random_state=0, anomaly_score="official")
    det.fit(pictures[fit_dtype])
    expected = det.decision_function(pictures["float"])
    for dtype in ("uint8", "uint16"):
        scores = det.decision_function(pictures[dtype])
        np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-6)


def test_uint8_training_images_learn_the_scaling_in_intensity_units(pictures):
    det = SkipGANomalyDetector(**FAST, random_state=0).fit(pictures["uint8"])
    levels = pictures["uint8"]
    assert det.data_min_ == levels.min() / 255
    assert det.data_range_ == (levels.max() - levels.min()) / 255


def test_images_far_outside_the_fitted_range_warn(pictures):
    det = SkipGANomalyDetector(**FAST, random_state=0).fit(pictures["float"])
    with pytest.warns(UserWarning, match="far outside the range .* fitted on"):
        det.decision_function(pictures["float"] * 255)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det.decision_function(pictures["float"])
        det.decision_function(pictures["uint8"])


def test_tables_far_outside_the_fitted_range_do_not_warn(table):
    # Outlying rows are what a detector is for; only images have a scale to
    # mistake.
    det = SkipGANomalyDetector(**FAST, random_state=0).fit(table)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det.decision_function(table * 100)


def test_older_files_keep_the_scaling_of_their_fit_dtype(
    pictures, tmp_path, monkeypatch
):
    det = SkipGANomalyDetector(**FAST, random_state=0, anomaly_score="official")
    det.fit(pictures["uint8"])

    def version_2(metadata, tensors):
        # Before version 3, uint8 images were scaled in 0-255 units.
        fitted = metadata["fitted"]
        del fitted["dtype_ranges"]
        fitted["data_min_"] = fitted["data_min_"] * 255
        fitted["data_range_"] = fitted["data_range_"] * 255
        return metadata, tensors

    save_as_version(det, tmp_path / "v2.pt", 2, version_2, monkeypatch)
    loaded = SkipGANomalyDetector.load(tmp_path / "v2.pt")
    np.testing.assert_allclose(
        loaded.decision_function(pictures["uint8"]),
        det.decision_function(pictures["uint8"]),
        rtol=1e-5,
    )


def test_memmap_input_scores_like_an_array(images, tmp_path):
    path = tmp_path / "images.uint8"
    as_uint8 = images.astype(np.uint8)
    mapped = np.memmap(path, dtype=np.uint8, mode="w+", shape=as_uint8.shape)
    mapped[:] = as_uint8
    mapped.flush()
    mapped = np.memmap(path, dtype=np.uint8, mode="r", shape=as_uint8.shape)
    from_disk = SkipGANomalyDetector(**FAST, random_state=0).fit(mapped)
    in_memory = SkipGANomalyDetector(**FAST, random_state=0).fit(as_uint8)
    assert_allclose(from_disk.decision_scores_, in_memory.decision_scores_, rtol=1e-5)
    assert_allclose(
        from_disk.decision_function(mapped),
        in_memory.decision_function(as_uint8),
        rtol=1e-5,
    )


@pytest.mark.parametrize("shape", [(2, 32, 32), (32, 32, 2)])
def test_memmap_is_read_in_place_in_either_channel_layout(tmp_path, shape):
    # No copy of the data, not even uint8: a channels-last memmap keeps its
    # (H, W, C) rows on disk and they are reordered one batch at a time.
    path = tmp_path / "images.uint8"
    rng = np.random.RandomState(0)
    mapped = np.memmap(path, dtype=np.uint8, mode="w+", shape=(16, *shape))
    mapped[:] = rng.randint(0, 256, size=mapped.shape)
    mapped.flush()
    mapped = np.memmap(path, dtype=np.uint8, mode="r", shape=mapped.shape)
    channels_first = mapped if shape[0] == 2 else mapped.transpose(0, 3, 1, 2)
    det = SkipGANomalyDetector(**FAST, random_state=0)
    in_memory = det.fit(np.asarray(channels_first))._network_input(channels_first)
    for data in (learn_input(det, mapped)[1], det.fit(mapped)._network_input(mapped)):
        assert np.shares_memory(data.X, mapped)
        assert_array_equal(data[3:11].numpy(), in_memory[3:11].numpy())
    # The part held out for early stopping keeps the row order too.
    held_out = clone(det).set_params(validation_fraction=0.25, n_iter_no_change=1)
    assert_array_equal(
        clone(held_out).fit(mapped).decision_scores_,
        clone(held_out).fit(np.asarray(channels_first)).decision_scores_,
    )


_PEAK_RSS_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import numpy as np, torch
    from sklearn_sganomaly import SkipGANomalyDetector

    torch.set_num_threads(1)
    path, n = sys.argv[1], int(sys.argv[2])
    X = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, 1, 32, 32))
    params = dict(epochs=1, width=4, latent_dim=8, batch_size=256, device="cpu")
    SkipGANomalyDetector(**params, random_state=0).fit(X[:512])  # warm up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    det = SkipGANomalyDetector(**params, random_state=0).fit(X)
    det.decision_function(X)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024)
    """
)


def test_memmap_fit_and_scoring_never_make_a_float32_copy(tmp_path):
    n = 40_000
    path = tmp_path / "images.uint8"
    mapped = np.memmap(path, dtype=np.uint8, mode="w+", shape=(n, 1, 32, 32))
    mapped[:] = np.random.RandomState(0).randint(0, 256, size=mapped.shape)
    mapped.flush()
    del mapped
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS_SCRIPT, str(path), str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    growth = int(result.stdout.strip().splitlines()[-1])
    float32_copy = n * 32 * 32 * 4
    # Pages of the file that were read count in RSS (n * 1024 bytes); one
    # float32 copy of the data would add four times that again.
    assert growth < 0.5 * float32_copy, (growth, float32_copy)
