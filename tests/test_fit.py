"""One training run: callbacks, progress output, early stopping, warm start,
checkpoints and resume, and faults: divergence, discriminator collapse,
interruption."""

import numpy as np
import pytest
import torch
from conftest import FAST
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.utils import check_random_state
from skorch.callbacks import Callback

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._losses import SkipGANomalyLoss
from sklearn_sganomaly._training import SkipGANomalyNet

pytestmark = pytest.mark.usefixtures("single_thread")

TWO_EPOCHS = {**FAST, "epochs": 2}


class _CountEpochs(Callback):
    def initialize(self):
        self.epochs_seen_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_seen_ += 1


class _InterruptAfter(Callback):
    """Stand-in for Ctrl-C: raises KeyboardInterrupt at the end of an epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


def test_user_callbacks_run_on_copies(images):
    counter = _CountEpochs()
    detector = SkipGANomalyDetector(
        **TWO_EPOCHS, callbacks=[("count", counter)], random_state=0
    ).fit(images)
    used = dict(detector.net_.callbacks_)["count"]
    assert used.epochs_seen_ == 2
    assert used is not counter
    assert not hasattr(counter, "epochs_seen_")
    refit = clone(detector).fit(images)
    assert dict(refit.net_.callbacks_)["count"].epochs_seen_ == 2


def test_bare_callbacks_are_accepted(images):
    detector = SkipGANomalyDetector(**FAST, callbacks=[_CountEpochs()]).fit(images)
    assert any(isinstance(cb, _CountEpochs) for _, cb in detector.net_.callbacks_)


def test_verbose_0_prints_nothing(images, capfd):
    SkipGANomalyDetector(**FAST, verbose=0).fit(images)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_verbose_1_prints_a_progress_bar_and_a_loss_table(images, capfd):
    SkipGANomalyDetector(**TWO_EPOCHS, verbose=1).fit(images)
    out, err = capfd.readouterr()
    table = out.splitlines()
    assert "epoch" in table[0]
    for term in ("train_loss", "loss_adv", "loss_con", "loss_d", "dur"):
        assert term in table[0]
    assert sum(line.strip().startswith(("1", "2")) for line in table) == 2
    assert "it/s" in err or "s/it" in err  # tqdm's progress bar, on stderr


def test_warm_start_continues_training_exactly(images):
    once = SkipGANomalyDetector(**TWO_EPOCHS, random_state=0).fit(images)
    warm = SkipGANomalyDetector(**FAST, warm_start=True, random_state=0)
    warm.fit(images)
    first_net = warm.net_
    warm.fit(images)
    assert len(warm.history_) == 2
    assert warm.net_ is not first_net  # the previous net survives a failed refit
    assert_array_equal(warm.decision_function(images), once.decision_function(images))


def test_warm_start_refuses_another_shape(images):
    warm = SkipGANomalyDetector(**FAST, warm_start=True).fit(images)
    with pytest.raises(ValueError, match=r"images of shape \(1, 8, 8\)"):
        warm.fit(np.zeros((10, 1, 16, 16)))
    assert len(warm.history_) == 1


def test_without_warm_start_fit_starts_afresh(images):
    detector = SkipGANomalyDetector(**FAST, random_state=0).fit(images)
    scores = detector.decision_function(images)
    detector.fit(images)
    assert len(detector.history_) == 1
    assert_array_equal(detector.decision_function(images), scores)


def test_checkpoints_resume_an_interrupted_fit_exactly(images, tmp_path):
    uninterrupted = SkipGANomalyDetector(**TWO_EPOCHS, random_state=0).fit(images)

    detector = SkipGANomalyDetector(
        **TWO_EPOCHS,
        checkpoint_dir=str(tmp_path),
        callbacks=[_InterruptAfter(epoch=1)],
        random_state=0,
    )
    with pytest.raises(KeyboardInterrupt, match="after 1 of 2 epochs"):
        detector.fit(images)
    assert not hasattr(detector, "net_")
    assert (tmp_path / "generator.pt").exists()
    assert (tmp_path / "optimizer_d.pt").exists()

    detector.set_params(callbacks=None).fit(images)
    assert len(detector.history_) == 2
    assert_array_equal(
        detector.decision_function(images), uninterrupted.decision_function(images)
    )


class _Crash(BaseException):
    """What a crash looks like to the code: nothing catches it."""


def test_a_save_cut_short_keeps_the_previous_checkpoint(images, tmp_path, monkeypatch):
    params = {**FAST, "checkpoint_dir": str(tmp_path), "random_state": 0}
    SkipGANomalyDetector(**params).fit(images)  # epoch 1, checkpointed
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    save = SkipGANomalyNet.save_params

    def crash_after_the_generator(self, **kwargs):
        save(self, **kwargs)
        if "f_module" in kwargs:
            raise _Crash

    monkeypatch.setattr(SkipGANomalyNet, "save_params", crash_after_the_generator)
    with pytest.raises(_Crash):
        SkipGANomalyDetector(**{**params, "epochs": 2}).fit(images)
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before
    resumed = SkipGANomalyDetector(**{**params, "epochs": 2}).fit(images)
    whole = SkipGANomalyDetector(**{**FAST, "epochs": 2, "random_state": 0})
    assert_array_equal(
        resumed.decision_function(images), whole.fit(images).decision_function(images)
    )


def test_a_finished_checkpoint_is_reused_without_training(images, tmp_path):
    params = {**FAST, "checkpoint_dir": str(tmp_path), "random_state": 0}
    first = SkipGANomalyDetector(**params).fit(images)
    counter = _CountEpochs()
    again = SkipGANomalyDetector(**params, callbacks=[("count", counter)]).fit(images)
    assert dict(again.net_.callbacks_)["count"].epochs_seen_ == 0
    assert_array_equal(again.decision_function(images), first.decision_function(images))


def test_a_checkpoint_of_other_networks_is_refused(images, tmp_path):
    SkipGANomalyDetector(**FAST, checkpoint_dir=str(tmp_path)).fit(images)
    other = SkipGANomalyDetector(**{**FAST, "width": 8}, checkpoint_dir=str(tmp_path))
    with pytest.raises(ValueError, match="does not match this detector's networks"):
        other.fit(images)
    assert not hasattr(other, "net_")


def _held_out_rows(random_state, n_samples, fraction):
    # Mirrors the detector's split: one seed per fit, drawn from random_state.
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    order = np.random.RandomState(seed).permutation(n_samples)
    return np.sort(order[: int(np.ceil(fraction * n_samples))])


class _SpoilFrom(Callback):
    """Wreck one network's weights in every training batch from ``epoch`` on."""

    def __init__(self, epoch, module):
        self.epoch = epoch
        self.module = module

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) >= self.epoch:
            with torch.no_grad():
                for param in getattr(net, self.module).parameters():
                    param.add_(0.5)


@pytest.mark.parametrize("data", ["images", "table"])
@pytest.mark.parametrize("spoiled", ["module_", "discriminator_"])
def test_early_stopping_restores_the_best_networks(request, data, spoiled):
    X = request.getfixturevalue(data)
    detector = SkipGANomalyDetector(
        **{**FAST, "epochs": 8},
        validation_fraction=0.25,
        n_iter_no_change=2,
        callbacks=[_SpoilFrom(epoch=3, module=spoiled)],
        # The validation loss is the mean official score of the held-out rows.
        anomaly_score="official",
        random_state=0,
    ).fit(X)
    valid_loss = detector.history_[:, "valid_loss"]
    assert len(detector.history_) == 4  # epochs 3 and 4 got worse: stopped
    assert np.argmin(valid_loss) < 2
    held_out = X[_held_out_rows(0, len(X), 0.25)]
    # The restored generator AND discriminator give the best epoch's validation
    # loss, the mean anomaly score of the held-out samples.
    assert_allclose(
        detector.decision_function(held_out).mean(), min(valid_loss), rtol=1e-5
    )
    assert len(detector.decision_scores_) == len(X)


def test_early_stopping_stops_without_pretending_to_be_interrupted(table):
    detector = SkipGANomalyDetector(
        **{**FAST, "epochs": 30},
        learning_rate=1e-12,
        validation_fraction=0.25,
        n_iter_no_change=1,
        random_state=0,
    ).fit(table)
    assert len(detector.history_) < 30


def test_validation_fraction_must_leave_two_training_samples():
    with pytest.raises(ValueError, match="leaves 1 of 4 samples for training"):
        SkipGANomalyDetector(**FAST, validation_fraction=0.7).fit(np.ones((4, 2)))


# ---------------------------------------------------------------------------
# Faults: divergence, discriminator collapse, interruption


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


def test_skip_dropout_is_used_in_training_and_saved(images, tmp_path):
    detector = SkipGANomalyDetector(**FAST, random_state=0).fit(images)
    plain = SkipGANomalyDetector(**FAST, skip_dropout=0.0, random_state=0).fit(images)
    assert detector.net_.module_.skip_dropout == 0.5
    # Same seed, same initial weights: only the cut skips differ.
    assert not np.allclose(detector.decision_scores_, plain.decision_scores_, rtol=1e-4)
    detector.save(tmp_path / "model.pt")
    loaded = SkipGANomalyDetector.load(tmp_path / "model.pt")
    assert loaded.skip_dropout == 0.5
    assert_array_equal(loaded.decision_function(images), detector.decision_scores_)


@pytest.mark.parametrize("data", ["images", "table"])
def test_synthetic_auc_early_stopping_keeps_the_best_epochs_networks(
    request, data, monkeypatch
):
    from sklearn_sganomaly._training import _proxy

    # The criterion's values are scripted; what is tested is how training acts
    # on them: stop after n_iter_no_change worse epochs, restore the best.
    scripted = iter([0.6, 0.9, 0.7, 0.5, 0.95, 0.4])
    monkeypatch.setattr(_proxy, "roc_auc_score", lambda *a: next(scripted))

    class _KeepStates(Callback):
        def initialize(self):
            self.states_ = []
            return self

        def on_epoch_end(self, net, **kwargs):
            self.states_.append(
                {k: v.clone() for k, v in net.discriminator_.state_dict().items()}
            )

    keep = _KeepStates()
    detector = SkipGANomalyDetector(
        **{**FAST, "epochs": 6},
        validation_fraction=0.25,
        validation_scoring="synthetic_auc",
        n_iter_no_change=2,
        callbacks=[("keep", keep)],
        random_state=0,
    ).fit(request.getfixturevalue(data))
    assert detector.history_[:, "valid_synthetic_auc"] == [0.6, 0.9, 0.7, 0.5]
    assert detector.history_[:, "valid_synthetic_auc_best"] == [
        True, True, False, False,
    ]  # fmt: skip
    states = dict(detector.net_.callbacks_)["keep"].states_
    for name, value in detector.net_.discriminator_.state_dict().items():
        assert torch.equal(value, states[1][name]), name


def test_synthetic_auc_is_measured_on_held_out_rows(table):
    detector = SkipGANomalyDetector(
        **{**FAST, "epochs": 2},
        validation_fraction=0.25,
        validation_scoring="synthetic_auc",
        random_state=0,
    ).fit(table)
    aucs = detector.history_[:, "valid_synthetic_auc"]
    assert len(aucs) == 2
    assert all(0.0 <= auc <= 1.0 for auc in aucs)
