# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Neighbour scores in the discriminator's feature space, through sklearn.neighbors.

The training images' discriminator features are the reference set. A query is
scored by how far it lies from them (kNN: log of the mean distance to its k
nearest references), by how much sparser its neighbourhood is than theirs (LOF),
or by both, each standardised with the scores the references get when left out
of their own neighbourhood. Several discriminator snapshots give one feature
space each; their standardised scores are averaged. Nothing here touches torch.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import gen_batches

__all__ = ["NEIGHBOUR_SCORES", "FeatureNeighbours", "SnapshotNeighbours"]

NEIGHBOUR_SCORES = ("knn", "lof", "knn+lof")

# Keeps the log finite for a query that coincides with its k nearest references.
_TINY = np.finfo(np.float64).tiny
# Candidates per query found by brute force, re-ranked by exact distances.
_CANDIDATES_PER_NEIGHBOUR = 2
_QUERY_BLOCK = 1024


class FeatureNeighbours:
    """kNN and LOF scores of feature vectors against a fixed reference set.

    Parameters
    ----------
    method : {"knn", "lof", "knn+lof"}
        "knn" and "lof" are log scores; "knn+lof" is the sum of both after
        standardising each with the leave-one-out scores of the references, so
        neither dominates by its scale.
    n_neighbors : int
        Neighbours of each query; at most ``n_references - 1`` are used.
    """

    def __init__(self, method, n_neighbors):
        if method not in NEIGHBOUR_SCORES:
            raise ValueError(
                f"method must be one of {NEIGHBOUR_SCORES}, got {method!r}."
            )
        self.method = method
        self.n_neighbors = n_neighbors

    def fit(self, features):
        """Store ``features`` (n_references, n_dims) as the reference set."""
        features = np.asarray(features, dtype=np.float64)
        k = max(1, min(self.n_neighbors, len(features) - 1))
        self.reference_features_ = features
        self.n_neighbors_ = k
        # Brute force: in tens of dimensions the trees prune little and take
        # ten times as long.
        self.search_ = NearestNeighbors(algorithm="brute").fit(features)
        # Leave-one-out: each reference left out of its own neighbourhood, as
        # for a new query. One search gives what LocalOutlierFactor keeps of
        # the references (which would search twice) and both scores'
        # left-out values.
        distances, neighbours = self._kneighbors(None)
        self.k_distances_ = distances[:, -1]
        self.reference_lrd_ = self._lrd(distances, neighbours)
        loo = self._raw_from(distances, neighbours)
        self.moments_ = {
            name: (float(s.mean()), float(s.std()) or 1.0) for name, s in loo.items()
        }
        return self

    def _lrd(self, distances, neighbours):
        """Local reachability density, as ``LocalOutlierFactor`` computes it."""
        reach = np.maximum(distances, self.k_distances_[neighbours])
        return 1.0 / (reach.mean(axis=1) + 1e-10)

    @staticmethod
    def _log_mean(distances):
        return np.log(np.maximum(distances.mean(axis=1), _TINY))

    def _kneighbors(self, features):
        """Exact distances to, and indices of, the k nearest references.

        ``features`` None: each reference's neighbours but itself. Brute force
        expands |x - y|^2 into matrix products whose rounding depends on how
        many queries come together, and a sample's score must not; so it only
        proposes twice k candidates, ranked here by their distances computed
        one pair at a time.
        """
        references = self.reference_features_
        queries = references if features is None else features
        n_candidates = min(
            _CANDIDATES_PER_NEIGHBOUR * self.n_neighbors_,
            len(references) - (features is None),
        )
        candidates = self.search_.kneighbors(
            features, n_neighbors=n_candidates, return_distance=False
        )
        distances = np.empty(candidates.shape)
        # In blocks of queries: the offsets hold n_dims values per candidate.
        for rows in gen_batches(len(queries), _QUERY_BLOCK):
            offsets = references[candidates[rows]] - queries[rows, None, :]
            distances[rows] = np.sqrt(np.square(offsets).sum(axis=-1))
        nearest = np.argsort(distances, axis=1, kind="stable")[:, : self.n_neighbors_]
        return (
            np.take_along_axis(distances, nearest, axis=1),
            np.take_along_axis(candidates, nearest, axis=1),
        )

    def _raw(self, features):
        """Log kNN and log LOF scores of ``features``, from one search."""
        return self._raw_from(*self._kneighbors(features))

    def _raw_from(self, distances, neighbours):
        # LOF as LocalOutlierFactor computes it: the mean ratio of the
        # neighbours' local reachability densities to the sample's.
        lof = np.mean(
            self.reference_lrd_[neighbours] / self._lrd(distances, neighbours)[:, None],
            axis=1,
        )
        return {"knn": self._log_mean(distances), "lof": np.log(lof)}

    def _standardised(self, raw):
        return {
            name: (raw[name] - mean) / std
            for name, (mean, std) in self.moments_.items()
        }

    def score(self, features):
        """Anomaly score of each row of ``features``; higher = more abnormal."""
        raw = self._raw(np.asarray(features, dtype=np.float64))
        if self.method != "knn+lof":
            return raw[self.method]
        return sum(self._standardised(raw).values())

    def standardised_score(self, features):
        """The score on the scale of the references' leave-one-out scores."""
        standardised = self._standardised(
            self._raw(np.asarray(features, dtype=np.float64))
        )
        if self.method != "knn+lof":
            return standardised[self.method]
        return sum(standardised.values())


class SnapshotNeighbours:
    """``FeatureNeighbours`` in the feature spaces of several snapshots.

    With one snapshot the score is that snapshot's; with several, the mean of
    their standardised scores, so that no snapshot weighs by its scale.

    Parameters
    ----------
    method, n_neighbors
        As for ``FeatureNeighbours``.
    """

    def __init__(self, method, n_neighbors):
        self.method = method
        self.n_neighbors = n_neighbors

    def fit(self, features):
        """``features``: one (n_references, n_dims) array per snapshot."""
        self.snapshots_ = [
            FeatureNeighbours(self.method, self.n_neighbors).fit(f) for f in features
        ]
        return self

    @property
    def reference_features_(self):
        return [s.reference_features_ for s in self.snapshots_]

    def score(self, features):
        """Anomaly score of each query; ``features`` as for ``fit``."""
        if len(features) != len(self.snapshots_):
            raise ValueError(
                f"Expected features of {len(self.snapshots_)} snapshots, "
                f"got {len(features)}."
            )
        if len(self.snapshots_) == 1:
            return self.snapshots_[0].score(features[0])
        return np.mean(
            [
                s.standardised_score(f)
                for s, f in zip(self.snapshots_, features, strict=True)
            ],
            axis=0,
        )
