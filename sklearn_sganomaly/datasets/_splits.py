# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""The one-class split protocols."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import StrOptions, validate_params


@validate_params(
    {"protocol": [StrOptions({"official", "clean"})]},
    prefer_skip_nested_validation=True,
)
def make_one_class_split(
    X,
    y,
    *,
    anomaly_class,
    protocol: str = "official",
    X_test=None,
    y_test=None,
    test_size: float | int | None = None,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn a labelled multi-class data set into a one-class anomaly benchmark.

    Follows the protocol of GANomaly / Skip-GANomaly (Akçay et al.): one class,
    ``anomaly_class``, is the anomaly and all other classes are normal. The model
    is trained on the normal classes' training samples only.

    - ``protocol="official"`` (as in the papers' code): the test set is the
      normal classes' test samples, followed by the anomaly class's training
      samples, followed by the anomaly class's test samples.
    - ``protocol="clean"``: the test set is the normal classes' test samples
      followed by the anomaly class's test samples only, so no test sample comes
      from the training split.

    Within each group the original order is kept; normal samples come first.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Training samples of the labelled data set, e.g. images of shape
        ``(n, C, H, W)``.
    y : array-like of shape (n_samples,)
        Class labels of ``X``.
    anomaly_class : int or str
        The label that plays the anomaly.
    protocol : {"official", "clean"}, default="official"
        How the test set is built, see above.
    X_test : array-like of shape (n_test_samples, ...), default=None
        The data set's own test samples. Give it together with ``y_test``.
    y_test : array-like of shape (n_test_samples,), default=None
        Class labels of ``X_test``.
    test_size : float or int, default=None
        Only for data sets without their own test split (e.g.
        :func:`sklearn.datasets.load_digits`): when ``X_test`` and ``y_test`` are
        not given, ``X, y`` are first split into training and test parts with
        :func:`~sklearn.model_selection.train_test_split` (stratified by ``y``)
        using this ``test_size``, and the protocol is applied to those parts. It
        is required in that case, so the split is always explicit.
    random_state : int, RandomState instance or None, default=None
        Seed of that stratified split; pass an int for reproducible output. Not
        used when ``X_test`` is given.

    Returns
    -------
    X_train : ndarray of shape (n_train, ...)
        Normal training samples (their labels are all 0).
    X_test : ndarray of shape (n_test, ...)
        Test samples, normal first.
    y_test : ndarray of shape (n_test,), int64
        0 for normal, 1 for anomaly.

    Raises
    ------
    ValueError
        If ``protocol`` is unknown, ``anomaly_class`` is not among the labels,
        only one of ``X_test`` / ``y_test`` is given, or neither a test split nor
        ``test_size`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_sganomaly.datasets import make_one_class_split
    >>> X, y = np.arange(6).reshape(6, 1), np.array([0, 1, 2, 0, 1, 2])
    >>> X_test, y_test = np.arange(10, 13).reshape(3, 1), np.array([0, 1, 2])
    >>> X_tr, X_te, y_te = make_one_class_split(
    ...     X, y, anomaly_class=2, X_test=X_test, y_test=y_test)
    >>> X_tr.ravel(), X_te.ravel(), y_te
    (array([0, 1, 3, 4]), array([10, 11,  2,  5, 12]), array([0, 0, 1, 1, 1]))

    Without a given test split, e.g. for scikit-learn's 8x8 digits:

    >>> from sklearn.datasets import load_digits
    >>> digits = load_digits()
    >>> X = digits.images.astype(np.uint8)[:, np.newaxis]
    >>> X_tr, X_te, y_te = make_one_class_split(
    ...     X, digits.target, anomaly_class=0, protocol="clean",
    ...     test_size=0.25, random_state=0)
    >>> X_tr.shape, X_te.shape, int(y_te.sum())
    ((1214, 1, 8, 8), (450, 1, 8, 8), 45)
    """
    X, y = np.asarray(X), np.asarray(y)
    _check_xy(X, y, "X", "y")
    if (X_test is None) != (y_test is None):
        raise ValueError("Pass both X_test and y_test, or neither.")
    if X_test is None:
        if test_size is None:
            raise ValueError(
                "No test split given: pass X_test and y_test (the data set's own "
                "test split), or test_size (and random_state) to split X, y in a "
                "stratified way first."
            )
        X, X_test, y, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=y
        )
    elif test_size is not None:
        raise ValueError(
            f"test_size={test_size!r} is only used without X_test / y_test; "
            "pass one or the other."
        )
    X_test, y_test = np.asarray(X_test), np.asarray(y_test)
    _check_xy(X_test, y_test, "X_test", "y_test")
    if X.shape[1:] != X_test.shape[1:]:
        raise ValueError(
            f"X and X_test samples differ in shape: {X.shape[1:]} vs "
            f"{X_test.shape[1:]}."
        )

    classes = np.unique(np.concatenate([y, y_test]))
    if not np.isin(anomaly_class, y):
        raise ValueError(
            f"anomaly_class={anomaly_class!r} is not among the classes present in "
            f"y: {classes.tolist()}."
        )
    if len(classes) < 2:
        raise ValueError(
            f"Need at least one normal class besides anomaly_class="
            f"{anomaly_class!r}; the only class present is {classes.tolist()}."
        )
    if protocol == "clean" and not np.isin(anomaly_class, y_test):
        raise ValueError(
            f"anomaly_class={anomaly_class!r} has no test samples, so the 'clean' "
            f"protocol has no anomalies; classes in y_test: "
            f"{np.unique(y_test).tolist()}."
        )

    train_anomaly, test_anomaly = y == anomaly_class, y_test == anomaly_class
    parts = [X_test[~test_anomaly]]
    if protocol == "official":
        parts.append(X[train_anomaly])
    parts.append(X_test[test_anomaly])
    X_out = np.concatenate(parts)
    n_normal = len(parts[0])
    y_out = np.zeros(len(X_out), dtype=np.int64)
    y_out[n_normal:] = 1
    return X[~train_anomaly], X_out, y_out


def _check_xy(X, y, x_name, y_name):
    if X.ndim < 1 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"{x_name} must have shape (n_samples, ...) and {y_name} shape "
            f"(n_samples,), got {X.shape} and {y.shape}."
        )
