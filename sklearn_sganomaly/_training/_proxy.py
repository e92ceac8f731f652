# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Early stopping on a proxy of detection quality, without any anomaly at hand.

Held-out training normals are compared with synthetic anomalies made from them:
a patch of another held-out image pasted in (CutPaste-style) for images, a share
of another held-out row's features swapped in for tables. After each epoch both
are scored by their neighbour distance to the training data in the current
discriminator's feature space, and the ROC AUC of normals against synthetic
anomalies is the criterion, higher is better.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

from .._neighbors import FeatureNeighbours

# Reference rows of the neighbour score: enough for stable distances, few enough
# that one discriminator pass per epoch stays cheap next to the epoch itself.
_MAX_REFERENCE = 1000
_SWAPPED_SHARE = 0.3


def synthetic_anomalies(x, rng):
    """Anomalies made from normal samples ``x`` (a float tensor), one per sample.

    Images ``(n, C, H, W)``: a rectangle of another sample, each side a sixth
    to a third of the image's, pasted at a random place. Tables ``(n, d)``:
    ``_SWAPPED_SHARE`` of the features (at least one) taken from another sample.
    ``rng`` is a ``numpy.random.RandomState``.
    """
    out = x.clone()
    n = len(x)
    donors = (np.arange(n) + rng.randint(1, max(n, 2), size=n)) % max(n, 1)
    if x.dim() == 4:
        height, width = x.shape[2:]
        for i, j in enumerate(donors):
            h = rng.randint(max(height // 6, 1), max(height // 3, 1) + 1)
            w = rng.randint(max(width // 6, 1), max(width // 3, 1) + 1)
            top, left = rng.randint(0, height - h + 1), rng.randint(0, width - w + 1)
            src_top = rng.randint(0, height - h + 1)
            src_left = rng.randint(0, width - w + 1)
            out[i, :, top : top + h, left : left + w] = x[
                j, :, src_top : src_top + h, src_left : src_left + w
            ]
        return out
    n_features = x.shape[1]
    n_swapped = max(1, round(_SWAPPED_SHARE * n_features))
    for i, j in enumerate(donors):
        columns = torch.from_numpy(rng.choice(n_features, n_swapped, replace=False))
        out[i, columns] = x[j, columns]
    return out


def _rows(data, rows):
    """Rows of network input (array, tensor or ``NetworkInput``) as a tensor."""
    return torch.as_tensor(data[rows]).float()


class SyntheticAnomalyAUC(Callback):
    """Record ``valid_synthetic_auc`` (and ``valid_synthetic_auc_best``) per epoch.

    Parameters
    ----------
    train, valid : array, tensor or ``NetworkInput``
        Network input of the training data (the neighbours' reference, at most
        ``_MAX_REFERENCE`` rows of it) and of the held-out normals.
    n_neighbors : int
        Neighbours of the kNN score.
    seed : int
        Seeds the reference rows and the synthetic anomalies, made once.
    """

    name = "valid_synthetic_auc"

    def __init__(self, train, valid, *, n_neighbors, seed):
        self.train = train
        self.valid = valid
        self.n_neighbors = n_neighbors
        self.seed = seed

    def initialize(self):
        rng = np.random.RandomState(self.seed)
        n_train = len(self.train)
        rows = np.sort(rng.permutation(n_train)[:_MAX_REFERENCE])
        reference = _rows(self.train, rows)
        normal = _rows(self.valid, np.arange(len(self.valid)))
        # References, then probes: one discriminator pass per epoch for both.
        self.inputs_ = torch.cat([reference, normal, synthetic_anomalies(normal, rng)])
        self.n_reference_ = len(reference)
        self.labels_ = np.r_[np.zeros(len(normal)), np.ones(len(normal))]
        return self

    def on_epoch_end(self, net, **kwargs):
        features = net.discriminator_features(self.inputs_)
        reference, probes = np.split(features, [self.n_reference_])
        neighbours = FeatureNeighbours("knn", self.n_neighbors).fit(reference)
        scores = neighbours.score(probes)
        auc = float(roc_auc_score(self.labels_, scores))
        earlier = [row.get(self.name, -np.inf) for row in net.history[:-1]]
        net.history.record(self.name, auc)
        net.history.record(self.name + "_best", auc > max(earlier, default=-np.inf))
