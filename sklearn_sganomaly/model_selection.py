# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Cross-validation for one-class (novelty) detectors.

A one-class detector such as :class:`~sklearn_sganomaly.SkipGANomalyDetector` is
meant to be trained on normal data only, yet model selection needs test folds
that hold both normal samples and anomalies. scikit-learn's splitters put every
sample of a fold's complement into its training set; :class:`OneClassSplit`
wraps any of them and drops the anomalies from the training sets, leaving the
test sets untouched.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.model_selection import BaseCrossValidator, check_cv
from sklearn.model_selection._split import GroupsConsumerMixin
from sklearn.utils import indexable
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import column_or_1d

__all__ = ["OneClassSplit"]


class OneClassSplit(GroupsConsumerMixin, BaseCrossValidator):
    """Cross-validation splits whose training sets hold only normal samples.

    Wraps a cross-validator and removes every sample whose label is not
    ``normal_label`` from its training sets. The test sets are those of the
    wrapped cross-validator, so they keep both normal samples and anomalies and
    can be scored with ``scoring="roc_auc"``. This is the usual protocol for
    tuning one-class (novelty) detectors, which assume clean training data.

    Parameters
    ----------
    cv : int, cross-validation generator, list or None, default=5
        The wrapped splitter, as accepted by
        :func:`sklearn.model_selection.check_cv` for a classifier: an int gives
        :class:`~sklearn.model_selection.StratifiedKFold` with that many folds
        (None: 5), so that every test fold keeps the share of anomalies of
        ``y``. Pass ``StratifiedKFold(n, shuffle=True, random_state=...)`` to
        shuffle. A list of ``(train, test)`` index pairs also works (not a
        one-shot generator: ``get_n_splits`` and ``split`` both read it).
    normal_label : int, float, str or bool, default=0
        Label of the normal samples in ``y``. Every other label counts as an
        anomaly (with the library's convention, ``y = 1`` for anomalies).

    See Also
    --------
    sklearn.model_selection.StratifiedKFold : The default wrapped splitter.
    sklearn.model_selection.GridSearchCV : Accepts this splitter as ``cv``.

    Notes
    -----
    The detector itself ignores ``y`` in ``fit``; the labels are used only here,
    to choose the training samples, and by the scorer. The training sets are
    those of the wrapped splitter minus their anomalies, so with the default
    stratified folds each training set holds ``(n_splits - 1) / n_splits`` of
    the normal samples. With ``refit=True``, a search such as
    :class:`~sklearn.model_selection.GridSearchCV` refits the best estimator on
    all the data given to its ``fit``, anomalies included; pass ``refit=False``
    and fit the best parameters on the normal samples to avoid that.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_sganomaly.model_selection import OneClassSplit
    >>> X = np.arange(16).reshape(8, 2)
    >>> y = np.array([0, 0, 0, 0, 0, 0, 1, 1])  # 1 = anomaly
    >>> cv = OneClassSplit(cv=2)
    >>> cv.get_n_splits(X, y)
    2
    >>> for train, test in cv.split(X, y):
    ...     print("train:", train, "test:", test)
    train: [3 4 5] test: [0 1 2 6]
    train: [0 1 2] test: [3 4 5 7]

    It is a drop-in ``cv`` for scikit-learn's model selection tools:

    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_sganomaly import SkipGANomalyDetector
    >>> X = np.random.RandomState(0).normal(size=(60, 3))
    >>> X[-6:] += 5  # the last 6 samples are anomalies
    >>> y = np.r_[np.zeros(54), np.ones(6)]
    >>> search = GridSearchCV(
    ...     SkipGANomalyDetector(epochs=1, width=4, random_state=0),
    ...     {"score_weight": [0.5, 0.9]},
    ...     scoring="roc_auc",
    ...     cv=OneClassSplit(cv=3),
    ... ).fit(X, y)
    >>> sorted(search.best_params_)
    ['score_weight']
    """

    _parameter_constraints: ClassVar[dict] = {
        "cv": ["cv_object"],
        "normal_label": "no_validation",
    }

    def __init__(self, cv=5, normal_label=0):
        self.cv = cv
        self.normal_label = normal_label

    def _wrapped(self, y):
        validate_parameter_constraints(
            self._parameter_constraints,
            {"cv": self.cv, "normal_label": self.normal_label},
            caller_name=type(self).__name__,
        )
        # classifier=True: an int becomes StratifiedKFold on the labels, so no
        # test fold lacks anomalies merely because of the order of the data.
        return check_cv(self.cv, y, classifier=True)

    def split(self, X, y, groups=None):
        """Generate indices to split data into training and test sets.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples; any number of dimensions (images included). Only their
            number is used.
        y : array-like of shape (n_samples,)
            Labels: ``normal_label`` for normal samples, anything else for
            anomalies. Required.
        groups : array-like of shape (n_samples,), default=None
            Passed on to the wrapped splitter (for group-aware splitters).

        Yields
        ------
        train : ndarray
            Training indices of the split: the wrapped splitter's, without
            the anomalies.
        test : ndarray
            Test indices of the split, as given by the wrapped splitter.

        Raises
        ------
        ValueError
            If ``y`` is None, holds no normal sample, or a training set would
            be empty.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__}.split needs y to tell normal samples "
                f"(y == {self.normal_label!r}) from anomalies; got y=None."
            )
        X, y, groups = indexable(X, y, groups)
        y = column_or_1d(y)
        is_normal = y == self.normal_label
        if not is_normal.any():
            raise ValueError(
                f"No sample of y has the normal label normal_label="
                f"{self.normal_label!r}; y holds the labels "
                f"{np.unique(y).tolist()}."
            )
        cv = self._wrapped(y)
        for i, (train, test) in enumerate(cv.split(X, y, groups)):
            train = np.asarray(train)
            train = train[is_normal[train]]
            if train.size == 0:
                raise ValueError(
                    f"The training set of split {i} holds no normal sample "
                    f"(y == {self.normal_label!r}); use fewer splits or a "
                    "stratified splitter."
                )
            yield train, np.asarray(test)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits, as given by the wrapped splitter.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), default=None
            Passed on to the wrapped splitter.
        y : array-like of shape (n_samples,), default=None
            Passed on to the wrapped splitter.
        groups : array-like of shape (n_samples,), default=None
            Passed on to the wrapped splitter.

        Returns
        -------
        n_splits : int
            Number of (train, test) pairs that ``split`` yields.
        """
        return self._wrapped(y).get_n_splits(X, y, groups)
