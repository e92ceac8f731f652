# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""skorch callbacks of training: snapshots, early stopping, checkpoints, faults."""

from __future__ import annotations

import copy
import math
import os

from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    ProgressBar,
)
from skorch.utils import noop

# Epochs after which the discriminator is kept for the snapshot ensemble of the
# default anomaly score: early ones, spaced so that the ensemble spans training.
SNAPSHOT_EPOCHS = (1, 2, 4, 8)


class _CountReinits(Callback):
    """Record how often the discriminator was re-initialised in each epoch."""

    def on_epoch_end(self, net, **kwargs):
        batches = net.history[-1, "batches"]
        net.history.record("d_reinits", sum(b.get("d_reinit", 0) for b in batches))


class _RestoreBestModules(Callback):
    """Keep the generator and discriminator of the best epoch; restore them at the end.

    skorch's ``EarlyStopping(load_best=True)`` restores ``module_`` only, and the
    score needs the discriminator of the same epoch.
    """

    def __init__(self, monitor="valid_loss_best"):
        self.monitor = monitor

    def initialize(self):
        self.best_states_ = None
        return self

    def on_epoch_end(self, net, **kwargs):
        if net.history[-1, self.monitor]:
            self.best_states_ = [
                copy.deepcopy(m.state_dict()) for m in (net.module_, net.discriminator_)
            ]

    def on_train_end(self, net, **kwargs):
        if self.best_states_ is not None:
            for module, state in zip(
                (net.module_, net.discriminator_), self.best_states_, strict=True
            ):
                module.load_state_dict(state)


class KeepSnapshotDiscriminators(Callback):
    """Copy the discriminator into ``net.snapshot_discriminators_`` after the
    epochs in ``SNAPSHOT_EPOCHS``.

    The net's epoch count decides: further training (``warm_start``,
    ``partial_fit``) keeps the snapshots taken, and early stopping never
    restores earlier ones.
    """

    def on_epoch_end(self, net, **kwargs):
        key = str(len(net.history))
        if key in net.snapshot_discriminators_:
            net.snapshot_discriminators_[key].load_state_dict(
                net.discriminator_.state_dict()
            )


class _StagedCheckpoint(Checkpoint):
    """A ``Checkpoint`` that leaves the previous one whole if saving is cut short.

    The files are written into ``<dirname>/.partial`` and moved onto the
    checkpoint only once all are complete, the history last (resuming starts
    from it): a crash or a full disk while writing, the long part, keeps the
    previous epoch's checkpoint as it was.
    """

    def save_model(self, net):
        final = self.dirname
        staging = os.path.join(final, ".partial")
        os.makedirs(staging, exist_ok=True)
        self.dirname = staging
        try:
            super().save_model(net)
        finally:
            self.dirname = final
        names = sorted(os.listdir(staging), key=lambda name: name == self.f_history)
        for name in names:
            # On disk before the move, so that a power cut cannot leave a
            # moved but empty file in place of the previous checkpoint.
            with open(os.path.join(staging, name), "rb") as file:
                os.fsync(file.fileno())
        for name in names:
            os.replace(os.path.join(staging, name), os.path.join(final, name))


def checkpoint(dirname):
    """skorch ``Checkpoint`` of everything ``fit`` needs to resume, every epoch."""
    return _StagedCheckpoint(
        monitor=None,
        dirname=dirname,
        f_params="generator.pt",
        f_discriminator="discriminator.pt",
        f_snapshot_discriminators="snapshot_discriminators.pt",
        f_optimizer="optimizer.pt",
        f_optimizer_d="optimizer_d.pt",
        f_criterion=None,
        f_history="history.json",
        event_name=None,
    )


def training_callbacks(
    *, verbose, patience=None, validation=None, checkpoint_dir=None, extra=()
):
    """The callbacks ``fit`` adds to the net's defaults, in the order they run.

    Parameters
    ----------
    verbose : int
        From 1 on, a progress bar per epoch (the loss table is skorch's
        ``PrintLog``, a default callback).
    patience : int or None
        Early stopping after this many epochs without improvement, restoring
        both networks of the best epoch; None disables it.
    validation : skorch callback or None
        Records the early-stopping criterion under its ``name`` (higher is
        better) and ``name + "_best"``; None stops on ``valid_loss``.
    checkpoint_dir : path or None
        Save networks, optimizers and history there after every epoch.
    extra : sequence of skorch callbacks or (name, callback) pairs
        The user's, run last, so a checkpoint is written before they act.
    """
    callbacks = [("stop_on_non_finite_loss", StopOnNonFiniteLoss())]
    if verbose:
        callbacks.append(("progress_bar", ProgressBar()))
    if patience is not None:
        monitor, lower_is_better = "valid_loss", True
        if validation is not None:
            callbacks.append((validation.name, validation))
            monitor, lower_is_better = validation.name, False
        stopping = EarlyStopping(
            monitor=monitor,
            lower_is_better=lower_is_better,
            patience=patience,
            sink=print if verbose else noop,
        )
        callbacks += [
            ("early_stopping", stopping),
            ("restore_best", _RestoreBestModules(monitor + "_best")),
        ]
    if checkpoint_dir is not None:
        callbacks.append(("checkpoint", checkpoint(checkpoint_dir)))
    return callbacks + list(extra)


def stopped_early(net) -> bool:
    """Whether skorch's EarlyStopping ended the last ``fit``."""
    early = dict(net.callbacks_).get("early_stopping")
    return early is not None and early.misses_ >= early.patience


class StopOnNonFiniteLoss(Callback):
    """Stop training with a clear error as soon as a loss is NaN or infinite.

    Left alone, a diverged GAN keeps "training" on NaN weights for the remaining
    epochs and ends with NaN scores.
    """

    def on_batch_end(self, net, training=True, **kwargs):
        if not training:
            return
        batch = net.history[-1, "batches"][-1]
        bad = {
            k: batch[k] for k in ("train_loss", "loss_d") if not math.isfinite(batch[k])
        }
        if bad:
            terms = ", ".join(f"{k}={v}" for k, v in bad.items())
            raise FloatingPointError(
                f"Training diverged in epoch {len(net.history)}: {terms}. Lower "
                "learning_rate or the loss weights, or use precision='fp32' if "
                "bf16 was used."
            )


def resume_from_checkpoint(net, dirname):
    """Load the checkpoint ``checkpoint(dirname)`` wrote into ``net``, if any.

    Nothing happens without a ``dirname`` or a checkpoint in it; a checkpoint
    that does not fit the net raises a ``ValueError`` that says what to do.
    """
    if dirname is None:
        return
    saved = checkpoint(dirname)
    if not os.path.exists(os.path.join(dirname, saved.f_history)):
        return
    try:
        net.load_params(checkpoint=saved)
    except (RuntimeError, ValueError, KeyError, OSError) as exc:
        raise ValueError(
            f"The checkpoint in checkpoint_dir={dirname!r} does not match this "
            f"detector's networks or is damaged ({exc}). Use another directory, "
            "or delete it to start afresh."
        ) from exc
