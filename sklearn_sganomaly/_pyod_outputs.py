# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""PyOD's labels, probabilities and confidences, read off the anomaly scores.

``PyODOutputs`` goes before ``BaseDetector`` among a detector's bases: it takes
array-likes without a ``shape`` (PyOD reads ``X.shape``), documents each output
in the library's terms, and keeps a threshold set by ``calibrate_threshold`` in
the confidences. It needs ``decision_function``, ``decision_scores_``,
``threshold_`` and ``labels_``; nothing here touches torch.
"""

from __future__ import annotations

import copy

import numpy as np
from pyod.models.base import BaseDetector
from sklearn.utils.validation import check_is_fitted

__all__ = ["PyODOutputs"]


class PyODOutputs:
    """Outputs of a PyOD detector derived from its scores and threshold."""

    def predict_proba(self, X, method="linear", return_confidence=False):
        """Outlier probability of each sample, from PyOD's ``BaseDetector``.

        Parameters
        ----------
        X : array-like
            As for ``decision_function``.
        method : {"linear", "unify"}, default="linear"
            "linear" min-max scales the score against the training scores;
            "unify" uses a Gaussian error function (Kriegel et al., 2011).
        return_confidence : bool, default=False
            Also return PyOD's confidence of each prediction.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns: probability of being normal, of being an outlier.
        confidence : ndarray of shape (n_samples,)
            Only with ``return_confidence=True``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> X = np.random.RandomState(0).normal(size=(100, 3))
        >>> det = SkipGANomalyDetector(epochs=2, width=8, random_state=0).fit(X)
        >>> proba = det.predict_proba([[0.0, 0.0, 0.0], [6.0, 6.0, 6.0]])
        >>> proba.shape, bool(proba[1, 1] > proba[0, 1])
        ((2, 2), True)
        """
        return super().predict_proba(_as_array(X), method, return_confidence)

    def predict_confidence(self, X):
        """Confidence of each label under perturbed training sets (PyOD).

        PyOD derives it from the share of training samples that the threshold
        flags (Perini et al., 2020). After ``calibrate_threshold`` that share is
        the calibrated threshold's, not ``contamination``.

        Parameters
        ----------
        X : array-like
            As for ``decision_function``.

        Returns
        -------
        confidence : ndarray of shape (n_samples,)
            Probability, in [0, 1], that the label stays the same.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> X = np.random.RandomState(0).normal(size=(100, 3))
        >>> det = SkipGANomalyDetector(epochs=2, width=8, random_state=0).fit(X)
        >>> confidence = det.predict_confidence([[0.0, 0.0, 0.0], [6.0, 6.0, 6.0]])
        >>> bool(np.all((confidence >= 0) & (confidence <= 1)))
        True
        """
        check_is_fitted(self)
        # PyOD reads the flagged share from labels_ when ``contamination`` is a
        # thresholder object, and labels with its predict: one that applies
        # threshold_ serves both. On a copy, so the detector is left unchanged.
        view = copy.copy(self)
        view.contamination = _ThresholdAt(self.threshold_)
        return BaseDetector.predict_confidence(view, _as_array(X))

    def predict(self, X, return_confidence=False):
        """Label each sample: 1 for an outlier, 0 for an inlier (PyOD's convention).

        Parameters
        ----------
        X : array-like
            As for ``decision_function``.
        return_confidence : bool, default=False
            Also return PyOD's confidence of each label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``decision_function(X) > threshold_`` as integers.
        confidence : ndarray of shape (n_samples,)
            Only with ``return_confidence=True``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> X = np.random.RandomState(0).normal(size=(100, 3))
        >>> det = SkipGANomalyDetector(epochs=2, width=8, random_state=0).fit(X)
        >>> det.predict([[0.0, 0.0, 0.0], [6.0, 6.0, 6.0]])
        array([0, 1])
        """
        return super().predict(_as_array(X), return_confidence)

    def fit_predict(self, X, y=None):
        """Fit, then return the training data's labels, ``labels_``.

        Parameters
        ----------
        X : array-like
            Training data, as for ``fit``.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            1 for outliers and 0 for inliers (PyOD's convention, not
            scikit-learn's -1/1).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> X = np.random.RandomState(0).normal(size=(100, 3))
        >>> det = SkipGANomalyDetector(contamination=0.05, epochs=2, width=8)
        >>> int(det.fit_predict(X).sum())
        5
        """
        return self.fit(X).labels_

    def score_samples(self, X):
        """Normality score in scikit-learn's orientation: ``-decision_function``.

        Parameters
        ----------
        X : array-like
            As for ``decision_function``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher means more normal.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> X = np.random.RandomState(0).normal(size=(100, 3))
        >>> det = SkipGANomalyDetector(epochs=2, width=8, random_state=0).fit(X)
        >>> scores = det.score_samples(X[:3])
        >>> bool(np.array_equal(scores, -det.decision_function(X[:3])))
        True
        """
        return -self.decision_function(X)


def _as_array(X):
    # PyOD reads X.shape; lists and other array-likes have none.
    return X if hasattr(X, "shape") else np.asarray(X)


class _ThresholdAt:
    """A PyOD thresholder object that flags scores above a fixed threshold."""

    def __init__(self, threshold):
        self.threshold = threshold

    def predict(self, scores):
        return (np.asarray(scores) > self.threshold).astype(int)
