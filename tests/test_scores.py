"""The detector's anomaly scores: neighbour scores on discriminator features, and
the paper's. The unit tests of ``FeatureNeighbours`` are in test_neighbors.py."""

import numpy as np
import pytest
import torch
from conftest import FAST, save_as_version
from numpy.testing import assert_array_equal

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._neighbors import NEIGHBOUR_SCORES, FeatureNeighbours

ALL_SCORES = ("official", *NEIGHBOUR_SCORES)


@pytest.fixture(autouse=True, scope="module")
def _one_thread(single_thread):
    return


@pytest.mark.parametrize("anomaly_score", ALL_SCORES)
def test_every_score_fits_and_scores_training_data_in_sample(anomaly_score, images):
    det = SkipGANomalyDetector(**FAST, anomaly_score=anomaly_score, random_state=0)
    det.fit(images)
    assert_array_equal(det.decision_function(images), det.decision_scores_)
    assert np.all(np.isfinite(det.decision_scores_))
    assert (det.neighbours_ is None) == (anomaly_score == "official")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_image_features_do_not_depend_on_batch_size_or_position(images, precision):
    # Image features are float32 (or bfloat16), computed in fixed chunks: bit
    # for bit the same whether a sample comes alone, first or last, in any
    # batch size.
    det = SkipGANomalyDetector(**FAST, precision=precision, random_state=0)
    det.fit(images)
    many = np.concatenate([images, images[::-1] + 0.5, images[:30] * 0.9])
    expected = det.decision_function(many)
    for batch_size in (1, 7, 64, 200):
        det.net_.set_params(batch_size=batch_size)
        assert_array_equal(det.decision_function(many), expected)
        assert_array_equal(det.decision_function(many[::-1]), expected[::-1])
        assert_array_equal(det.decision_function(many[99:100]), expected[99:100])


def test_bf16_image_features_are_bf16_and_close_to_fp32(images):
    det = SkipGANomalyDetector(**FAST, precision="bf16", random_state=0).fit(images)
    seen = []
    det.net_.discriminator_.features.register_forward_hook(
        lambda m, i, out: seen.append(out.dtype)
    )
    data = det._network_input(images)
    bf16 = det.net_.discriminator_features(data)
    assert seen == [torch.bfloat16]  # weights and all: hooks travel with the copy
    det.net_.precision_ = "fp32"
    fp32 = det.net_.discriminator_features(data)
    assert bf16.dtype == fp32.dtype == np.float64
    assert not np.array_equal(bf16, fp32)
    # bfloat16 keeps 8 significant bits: about 0.4 % per value.
    np.testing.assert_allclose(bf16, fp32, atol=0.02 * np.abs(fp32).max())


def test_official_score_is_the_nets_per_sample_score(images):
    det = SkipGANomalyDetector(**FAST, anomaly_score="official", random_state=0)
    det.fit(images)
    network_input = det._network_input(images)
    expected = det.net_.predict(network_input).astype(np.float64)
    assert_array_equal(det.decision_function(images), expected)


def test_training_does_not_depend_on_the_score(images):
    kwargs = {**FAST, "epochs": 2, "random_state": 0}
    official = SkipGANomalyDetector(**kwargs, anomaly_score="official").fit(images)
    default = SkipGANomalyDetector(**kwargs).fit(images)
    for a, b in zip(
        official.net_.module_.parameters(),
        default.net_.module_.parameters(),
        strict=True,
    ):
        assert torch.equal(a, b)


def _state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _snapshot(det, epoch):
    return _state(det.net_.snapshot_discriminators_[str(epoch)])


def test_snapshots_are_the_discriminators_after_their_epochs(images):
    one = SkipGANomalyDetector(**FAST, random_state=0).fit(images)
    two = SkipGANomalyDetector(**{**FAST, "epochs": 2}, random_state=0).fit(images)
    three = SkipGANomalyDetector(**{**FAST, "epochs": 3}, random_state=0).fit(images)
    assert _same_state(_snapshot(three, 1), _state(one.net_.discriminator_))
    assert _same_state(_snapshot(three, 2), _state(two.net_.discriminator_))
    assert not _same_state(_state(three.net_.discriminator_), _snapshot(three, 2))
    assert three.net_.snapshot_epochs() == [1, 2]


def test_first_snapshot_score_depends_on_the_first_epoch_only(images):
    # The neighbour score uses the discriminator of epoch 1 and the reference
    # features of the training data, so more epochs leave it as it is.
    kwargs = {**FAST, "random_state": 0, "feature_snapshot": "first"}
    one = SkipGANomalyDetector(**kwargs).fit(images)
    three = SkipGANomalyDetector(**{**kwargs, "epochs": 3}).fit(images)
    assert_array_equal(one.decision_function(images), three.decision_function(images))


def test_last_snapshot_uses_the_trained_discriminator(images):
    kwargs = {**FAST, "epochs": 2, "random_state": 0}
    det = SkipGANomalyDetector(**kwargs, feature_snapshot="last").fit(images)
    data = det._network_input(images)
    features = det.net_.discriminator_features(data)
    expected = FeatureNeighbours("knn+lof", 5).fit(features).score(features)
    assert_array_equal(det.decision_scores_, expected)
    first = SkipGANomalyDetector(**kwargs, feature_snapshot="first").fit(images)
    assert not np.array_equal(first.decision_scores_, det.decision_scores_)


@pytest.mark.parametrize("method", ["knn", "lof", "knn+lof"])
def test_all_snapshots_average_the_standardised_scores(images, method):
    kwargs = {**FAST, "epochs": 3, "random_state": 0, "anomaly_score": method}
    det = SkipGANomalyDetector(**kwargs).fit(images)
    data = det._network_input(images)
    expected = np.mean(
        [
            FeatureNeighbours(method, 5).fit(f).standardised_score(f)
            for f in (
                det.net_.discriminator_features(data, epoch=1),
                det.net_.discriminator_features(data, epoch=2),
                det.net_.discriminator_features(data),
            )
        ],
        axis=0,
    )
    assert_array_equal(det.decision_scores_, expected)


def test_warm_start_keeps_the_snapshots(images):
    det = SkipGANomalyDetector(**FAST, random_state=0, warm_start=True).fit(images)
    first = _snapshot(det, 1)
    det.fit(images)
    assert len(det.history_) == 2
    assert _same_state(_snapshot(det, 1), first)
    assert det.net_.snapshot_epochs() == [1]


def test_resumed_fit_restores_the_snapshots(images, tmp_path):
    kwargs = {**FAST, "random_state": 0, "checkpoint_dir": tmp_path}
    SkipGANomalyDetector(**{**kwargs, "epochs": 2}).fit(images)  # checkpointed
    resumed = SkipGANomalyDetector(**{**kwargs, "epochs": 3}).fit(images)
    whole = SkipGANomalyDetector(**{**FAST, "epochs": 3}, random_state=0).fit(images)
    for epoch in (1, 2):
        assert _same_state(_snapshot(resumed, epoch), _snapshot(whole, epoch))
    assert_array_equal(resumed.decision_scores_, whole.decision_scores_)


@pytest.mark.parametrize("anomaly_score", ALL_SCORES)
def test_save_load_keeps_every_score(anomaly_score, images, tmp_path):
    det = SkipGANomalyDetector(**FAST, anomaly_score=anomaly_score, random_state=0)
    det.fit(images)
    det.save(tmp_path / "model.pt")
    loaded = SkipGANomalyDetector.load(tmp_path / "model.pt")
    assert loaded.anomaly_score == anomaly_score
    assert_array_equal(loaded.decision_function(images), det.decision_function(images))


def test_calibrated_threshold_survives_save_and_load(images, tmp_path):
    det = SkipGANomalyDetector(**FAST, random_state=0).fit(images)
    before = det.threshold_
    det.calibrate_threshold(images[:30], fpr=0.3)
    assert det.threshold_ != before
    det.save(tmp_path / "model.pt")
    loaded = SkipGANomalyDetector.load(tmp_path / "model.pt")
    assert loaded.threshold_ == det.threshold_
    assert_array_equal(loaded.labels_, det.labels_)
    assert_array_equal(loaded.predict(images), det.predict(images))


def test_version_1_files_load_with_the_official_score(images, tmp_path, monkeypatch):
    det = SkipGANomalyDetector(**FAST, anomaly_score="official", random_state=0)
    det.fit(images)

    def version_1(metadata, tensors):
        # What a release before the neighbour scores wrote.
        for key in ("anomaly_score", "n_neighbors", "feature_snapshot"):
            del metadata["params"][key]
        del metadata["fitted"]["threshold_"]
        tensors = {
            k: v
            for k, v in tensors.items()
            if not k.startswith(("snapshot_discriminators.", "reference_features"))
        }
        return metadata, tensors

    save_as_version(det, tmp_path / "v1.pt", 1, version_1, monkeypatch)
    loaded = SkipGANomalyDetector.load(tmp_path / "v1.pt")
    assert loaded.anomaly_score == "official"
    assert loaded.neighbours_ is None
    assert_array_equal(loaded.decision_function(images), det.decision_function(images))
    assert loaded.threshold_ == det.threshold_


def test_neighbour_scores_work_on_tables(table):
    det = SkipGANomalyDetector(**FAST, random_state=0).fit(table)
    scores = det.decision_function(np.r_[table[:5], table[:5] + 20.0])
    assert scores[5:].min() > scores[:5].max()


def test_version_2_files_load_with_their_one_snapshot(images, tmp_path, monkeypatch):
    kwargs = {**FAST, "epochs": 2, "random_state": 0, "feature_snapshot": "first"}
    det = SkipGANomalyDetector(**kwargs).fit(images)

    def version_2(metadata, tensors):
        # What a release that kept only the first epoch's discriminator wrote.
        old = {}
        for key, value in tensors.items():
            if key.startswith("snapshot_discriminators.1."):
                old["first_discriminator." + key.split(".", 2)[2]] = value
            elif key == "reference_features.0":
                old["reference_features"] = value
            elif not key.startswith("snapshot_discriminators."):
                old[key] = value
        return metadata, old

    save_as_version(det, tmp_path / "v2.pt", 2, version_2, monkeypatch)
    loaded = SkipGANomalyDetector.load(tmp_path / "v2.pt")
    assert loaded.feature_snapshot == "first"
    assert_array_equal(loaded.decision_function(images), det.decision_function(images))


def test_warm_start_switched_to_the_official_score_scores_officially(images):
    det = SkipGANomalyDetector(**FAST, random_state=0, warm_start=True).fit(images)
    det.set_params(anomaly_score="official").fit(images)
    assert det.neighbours_ is None
    assert_array_equal(det.decision_scores_, det.decision_function(images))
