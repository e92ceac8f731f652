# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""One training run of a net: fresh, resumed from a checkpoint, or continued."""

from __future__ import annotations

import torch

from ._callbacks import resume_from_checkpoint, stopped_early, training_callbacks
from ._data import holdout_split
from ._devices import forked_rng
from ._distributed import is_main_process


def train(
    net,
    dataset,
    valid=None,
    *,
    epochs,
    seed,
    warm_start=False,
    verbose=0,
    patience=None,
    validation=None,
    checkpoint_dir=None,
    callbacks=(),
):
    """Train ``net`` on ``dataset`` with torch seeded by ``seed`` in a fork.

    A fresh net (``warm_start=False``) is initialised, resumes from the
    checkpoint in ``checkpoint_dir`` if there is one, and trains until its
    history holds ``epochs`` epochs; a warm-started net trains ``epochs`` more.
    With ``valid`` (held-out data), training stops after ``patience`` epochs
    without improvement and keeps the best epoch's networks; the criterion is
    the mean anomaly score of ``valid``, or the one the ``validation`` callback
    records (see ``training_callbacks``). ``callbacks`` come after the
    library's own.

    Raises
    ------
    KeyboardInterrupt
        If training ended before its last epoch other than by early stopping:
        skorch ends quietly on Ctrl-C, and a partly trained model must not
        pass for a fitted one.
    """
    # In data-parallel training only one process shows progress and writes
    # checkpoints; the others would print the same lines and write the same
    # files at the same time.
    main = is_main_process()
    net.set_params(
        callbacks=training_callbacks(
            verbose=verbose if main else 0,
            patience=None if valid is None else patience,
            validation=validation,
            checkpoint_dir=checkpoint_dir if main else None,
            extra=callbacks,
        ),
        train_split=None if valid is None else holdout_split(valid),
        verbose=verbose,
    )
    with forked_rng(torch.device(net.device), seed):
        if not warm_start:
            net.initialize()
            resume_from_checkpoint(net, checkpoint_dir)
        epochs_done = len(net.history)
        target = epochs_done + epochs if warm_start else epochs
        if target > epochs_done:
            net.partial_fit(dataset, epochs=target - epochs_done)
    if len(net.history) < target and not stopped_early(net):
        raise KeyboardInterrupt(
            f"fit was interrupted after {len(net.history) - epochs_done} of "
            f"{target - epochs_done} epochs; the detector keeps its previous state."
        )
    return net
