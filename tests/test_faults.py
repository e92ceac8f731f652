"""Training faults: divergence, discriminator collapse, interruption."""

import numpy as np
import pytest
from conftest import FAST

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._losses import SkipGANomalyLoss
from sklearn_sganomaly._training import SkipGANomalyNet


@pytest.fixture
def diverges_in_epoch_2(images, monkeypatch):
    """Make the generator loss NaN from the first step of the second epoch."""
    steps_per_epoch = len(images) // FAST["batch_size"]
    original = SkipGANomalyLoss.generator
    calls = []

    def generator(self, *args):
        calls.append(1)
        terms = original(self, *args)
        if len(calls) > steps_per_epoch:
            terms["loss_g"] = terms["loss_g"] * float("nan")
        return terms

    monkeypatch.setattr(SkipGANomalyLoss, "generator", generator)
    return calls


def test_non_finite_loss_stops_with_epoch_and_remedy(images, diverges_in_epoch_2):
    det = SkipGANomalyDetector(**{**FAST, "epochs": 5})
    with pytest.raises(
        FloatingPointError, match=r"epoch 2: train_loss=nan.*learning_rate"
    ):
        det.fit(images)
    steps_per_epoch = len(images) // FAST["batch_size"]
    assert len(diverges_in_epoch_2) == steps_per_epoch + 1  # stopped at once
    assert not hasattr(det, "net_")
    assert not hasattr(det, "decision_scores_")


def test_divergence_on_refit_keeps_the_previous_model(images, monkeypatch):
    det = SkipGANomalyDetector(**{**FAST, "epochs": 2}, random_state=0).fit(images)
    before = det.decision_function(images)
    original = SkipGANomalyLoss.generator

    def nan_generator_loss(self, *args):
        terms = original(self, *args)
        terms["loss_g"] = terms["loss_g"] * float("nan")
        return terms

    monkeypatch.setattr(SkipGANomalyLoss, "generator", nan_generator_loss)
    with pytest.raises(FloatingPointError, match="epoch 1"):
        det.fit(images)
    np.testing.assert_array_equal(det.decision_function(images), before)


def test_discriminator_collapse_reinitialises_and_is_counted(images, monkeypatch):
    # Force the official re-initialisation rule to fire on every step.
    original_init = SkipGANomalyNet.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **{**kwargs, "reinit_threshold": float("inf")})

    monkeypatch.setattr(SkipGANomalyNet, "__init__", init)
    det = SkipGANomalyDetector(**{**FAST, "epochs": 2}, random_state=0).fit(images)
    batches_per_epoch = len(images) // FAST["batch_size"]
    assert list(det.history_[:, "d_reinits"]) == [batches_per_epoch] * 2
    assert np.all(np.isfinite(det.decision_scores_))


def test_default_training_does_not_reinitialise(images):
    det = SkipGANomalyDetector(**{**FAST, "epochs": 2}, random_state=0).fit(images)
    assert list(det.history_[:, "d_reinits"]) == [0, 0]


@pytest.mark.parametrize("refit", [False, True])
def test_keyboard_interrupt_leaves_previous_or_unfitted_state(
    images, monkeypatch, refit
):
    det = SkipGANomalyDetector(**{**FAST, "epochs": 3}, random_state=0)
    if refit:
        det.fit(images)
        before = det.decision_function(images)
    original_step = SkipGANomalyNet.train_step
    calls = []

    def interrupted_step(self, batch, **fit_params):
        calls.append(1)
        if len(calls) == 4:  # inside the second epoch
            raise KeyboardInterrupt
        return original_step(self, batch, **fit_params)

    monkeypatch.setattr(SkipGANomalyNet, "train_step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        det.fit(images)
    if refit:
        assert len(det.history_) == 3
        np.testing.assert_array_equal(det.decision_function(images), before)
    else:
        assert not hasattr(det, "net_")
