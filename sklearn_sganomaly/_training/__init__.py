# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""The training layer: the skorch net that trains Skip-GANomaly; the only package
that imports skorch.

skorch runs the epochs, batches, callbacks and history. This module adds what a
GAN needs on top of it: a second module and optimizer, and a ``train_step`` that
alternates a generator step and a discriminator step instead of stepping every
optimizer from one loss.
"""

from ._callbacks import (
    SNAPSHOT_EPOCHS,
    KeepSnapshotDiscriminators,
    StopOnNonFiniteLoss,
    checkpoint,
    resume_from_checkpoint,
    stopped_early,
    training_callbacks,
)
from ._data import holdout_split
from ._devices import PRECISIONS, forked_rng, resolve_device, resolve_precision
from ._distributed import DataParallelSkipGANomalyNet, data_parallel, is_main_process
from ._fit import train
from ._net import STEP_ORDERS, SkipGANomalyNet, make_net
from ._proxy import SyntheticAnomalyAUC, synthetic_anomalies

__all__ = [
    "PRECISIONS",
    "SNAPSHOT_EPOCHS",
    "STEP_ORDERS",
    "DataParallelSkipGANomalyNet",
    "KeepSnapshotDiscriminators",
    "SkipGANomalyNet",
    "StopOnNonFiniteLoss",
    "SyntheticAnomalyAUC",
    "checkpoint",
    "data_parallel",
    "forked_rng",
    "holdout_split",
    "is_main_process",
    "make_net",
    "resolve_device",
    "resolve_precision",
    "resume_from_checkpoint",
    "stopped_early",
    "synthetic_anomalies",
    "train",
    "training_callbacks",
]
