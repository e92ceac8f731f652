"""OneClassSplit: training sets of normal samples only, test sets untouched."""

import numpy as np
import pytest
from conftest import FAST
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import (
    BaseCrossValidator,
    GridSearchCV,
    GroupKFold,
    KFold,
    StratifiedKFold,
    check_cv,
)
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly.model_selection import OneClassSplit


def _labels(n_normal, n_anomalous, seed=0):
    y = np.r_[np.zeros(n_normal, int), np.ones(n_anomalous, int)]
    return np.random.RandomState(seed).permutation(y)


@st.composite
def _problems(draw):
    """Labels, a wrapped splitter and its number of splits.

    Every label order is allowed; StratifiedKFold gets at least n_splits
    samples of each class, which it requires.
    """
    n_splits = draw(st.integers(2, 5))
    stratified = draw(st.booleans())
    low = n_splits if stratified else 0
    n_normal = draw(st.integers(max(low, 1), 30))
    n_anomalous = draw(st.integers(low, 15))
    if n_normal + n_anomalous < n_splits:
        n_normal = n_splits
    y = np.array(draw(st.permutations([0] * n_normal + [1] * n_anomalous)))
    shuffle = draw(st.booleans())
    seed = draw(st.integers(0, 2**16)) if shuffle else None
    kind = StratifiedKFold if stratified else KFold
    return y, kind(n_splits, shuffle=shuffle, random_state=seed)


@given(_problems())
def test_training_sets_are_the_wrapped_ones_without_anomalies(problem):
    y, inner = problem
    X = np.zeros((len(y), 1, 2, 2))  # only the number of samples matters
    wrapped = list(inner.split(X, y))
    cv = OneClassSplit(cv=inner)
    if any(not np.any(y[train] == 0) for train, _ in wrapped):
        # A wrapped training set without normal samples cannot be used.
        with pytest.raises(ValueError, match="holds no normal sample"):
            list(cv.split(X, y))
        return
    splits = list(cv.split(X, y))
    assert len(splits) == cv.get_n_splits(X, y) == inner.get_n_splits(X, y)
    n_tested = np.zeros(len(y), int)
    n_trained = np.zeros(len(y), int)
    for (train, test), (inner_train, inner_test) in zip(splits, wrapped, strict=True):
        assert np.all(y[train] == 0)  # no anomaly is ever trained on
        np.testing.assert_array_equal(train, inner_train[y[inner_train] == 0])
        np.testing.assert_array_equal(test, inner_test)
        assert not np.intersect1d(train, test).size
        n_tested[test] += 1
        n_trained[train] += 1
    # KFold and StratifiedKFold test every sample exactly once, so every normal
    # sample is trained on in all the other splits.
    np.testing.assert_array_equal(n_tested, 1)
    np.testing.assert_array_equal(n_trained[y == 0], len(splits) - 1)
    np.testing.assert_array_equal(n_trained[y == 1], 0)


def test_an_int_cv_is_stratified_so_every_test_set_has_both_classes():
    # Anomalies last, as data are often stored: unstratified folds would leave
    # the first test sets without any anomaly (and ROC AUC undefined).
    y = np.r_[np.zeros(30, int), np.ones(6, int)]
    splits = list(OneClassSplit(cv=3).split(np.zeros((36, 2)), y))
    assert len(splits) == 3
    for train, test in splits:
        assert set(y[test]) == {0, 1}
        assert np.all(y[train] == 0)


def test_custom_normal_label_and_string_labels():
    y = np.array(["ok", "ok", "defect", "ok", "scratch", "ok", "ok", "defect"])
    cv = OneClassSplit(cv=KFold(2), normal_label="ok")
    for train, _ in cv.split(np.zeros((8, 3)), y):
        assert set(y[train]) == {"ok"}
    # With y = 0 for anomalies, normal_label=1 keeps the ones.
    y01 = np.array([1, 1, 0, 1, 1, 0, 1, 1])
    for train, _ in OneClassSplit(cv=KFold(2), normal_label=1).split(y01, y01):
        assert set(y01[train]) == {1}


def test_a_list_of_index_pairs_is_filtered_too():
    y = _labels(10, 4)
    pairs = list(KFold(2).split(y))
    cv = OneClassSplit(cv=pairs)
    assert cv.get_n_splits() == 2
    for (train, test), (inner_train, inner_test) in zip(
        cv.split(y, y), pairs, strict=True
    ):
        np.testing.assert_array_equal(train, inner_train[y[inner_train] == 0])
        np.testing.assert_array_equal(test, inner_test)


def test_groups_reach_a_group_aware_splitter():
    y = _labels(24, 6)
    groups = np.arange(30) // 5
    for train, test in OneClassSplit(cv=GroupKFold(3)).split(y, y, groups):
        assert not set(groups[train]) & set(groups[test])
        assert np.all(y[train] == 0)


def test_get_n_splits_needs_no_data():
    assert OneClassSplit().get_n_splits() == 5
    assert OneClassSplit(cv=3).get_n_splits() == 3
    assert OneClassSplit(cv=KFold(4)).get_n_splits() == 4


def test_is_a_scikit_learn_cross_validator():
    cv = OneClassSplit(cv=3)
    assert isinstance(cv, BaseCrossValidator)
    # check_cv hands a splitter object back unchanged, as GridSearchCV does.
    assert check_cv(cv, [0, 1, 0], classifier=False) is cv
    assert repr(cv) == "OneClassSplit(cv=3, normal_label=0)"


def test_errors_are_clear():
    X = np.zeros((10, 2))
    y = _labels(7, 3)
    with pytest.raises(ValueError, match="needs y"):
        list(OneClassSplit().split(X, None))
    with pytest.raises(ValueError, match=r"normal_label=0.*labels \[1, 2\]"):
        list(OneClassSplit(cv=2).split(X, np.repeat([1, 2], 5)))
    with pytest.raises(InvalidParameterError, match="'cv' parameter of OneClassSplit"):
        list(OneClassSplit(cv=1).split(X, y))
    with pytest.raises(InvalidParameterError, match="'cv' parameter of OneClassSplit"):
        OneClassSplit(cv="five").get_n_splits()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        list(OneClassSplit(cv=2).split(X, y[:-1]))
    # Unshuffled KFold with all normal samples in the first test fold leaves
    # the first training set empty; the error names the split.
    y_sorted = np.r_[np.zeros(5, int), np.ones(5, int)]
    with pytest.raises(ValueError, match="split 0 holds no normal sample"):
        list(OneClassSplit(cv=KFold(2)).split(X, y_sorted))


def test_grid_search_matches_the_hand_written_normal_only_folds(single_thread):
    """GridSearchCV gives the same results as the documented list of index pairs."""
    rng = np.random.RandomState(0)
    y = _labels(45, 9)
    X = rng.normal(size=(len(y), 4)) + 4 * y[:, None]
    inner = StratifiedKFold(3, shuffle=True, random_state=0)
    hand_written = [(tr[y[tr] == 0], te) for tr, te in inner.split(X, y)]
    grid = {"score_weight": [0.2, 0.9]}
    det = SkipGANomalyDetector(**FAST, random_state=0)
    results = [
        GridSearchCV(clone(det), grid, scoring="roc_auc", cv=cv).fit(X, y)
        for cv in (OneClassSplit(cv=inner), hand_written)
    ]
    np.testing.assert_array_equal(
        results[0].cv_results_["mean_test_score"],
        results[1].cv_results_["mean_test_score"],
    )
    assert results[0].best_params_ == results[1].best_params_
    # Anomalies 4 standard deviations away: every candidate ranks them high.
    assert np.all(results[0].cv_results_["mean_test_score"] > 0.8)
