"""The detector composed with scikit-learn: pipelines, model selection, cloning.

Labels follow the library's convention, ``y = 1`` for anomalies, so the
``"roc_auc"`` scorer needs no sign flip. The last test is the slow end-to-end
check on sklearn's bundled digits.
"""

import pickle

import numpy as np
import pytest
from conftest import FAST
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import loguniform, uniform
from sklearn.base import clone, is_outlier_detector
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    ParameterSampler,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_predict,
    cross_val_score,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly.model_selection import OneClassSplit

pytestmark = pytest.mark.usefixtures("single_thread")

DET = "skipganomalydetector"  # make_pipeline's name for the detector step


def _shuffled(X, y, seed=0):
    order = np.random.RandomState(seed).permutation(len(y))
    return X[order], y[order]


@pytest.fixture(scope="module")
def labelled_table():
    """90 normal rows and 12 anomalies shifted by 4 standard deviations.

    The features have different scales and offsets, as raw tables do.
    """
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(size=(90, 5)), rng.normal(4, 1, size=(12, 5))]
    X = X * [1, 2, 5, 10, 0.1] + [0, -3, 10, 100, 1]
    return _shuffled(X, np.r_[np.zeros(90, int), np.ones(12, int)])


@pytest.fixture(scope="module")
def labelled_digits():
    """4-D 8x8 digit images: 45 zeros (normal) and 9 other digits (anomalies)."""
    digits = load_digits()
    images = digits.images[:, np.newaxis]
    X = np.r_[images[digits.target == 0][:45], images[digits.target != 0][:9]]
    return _shuffled(X, np.r_[np.zeros(45, int), np.ones(9, int)])


# --- Pipelines ---------------------------------------------------------------


def test_pipeline_with_a_scaler_on_a_table(labelled_table):
    X, y = labelled_table
    normal = X[y == 0]
    pipe = make_pipeline(StandardScaler(), SkipGANomalyDetector(**FAST, random_state=0))
    pipe.fit(normal)
    assert is_outlier_detector(pipe)
    scores = pipe.decision_function(X)
    assert roc_auc_score(y, scores) > 0.9
    assert set(np.unique(pipe.predict(X))) <= {0, 1}
    # The detector learns its own per-feature scaling to [-1, 1], so an affine
    # per-feature scaler before it changes nothing: the pipeline scores like
    # the bare detector on the raw table.
    bare = SkipGANomalyDetector(**FAST, random_state=0).fit(normal)
    assert_allclose(scores, bare.decision_function(X), rtol=1e-5)


def test_pipeline_with_an_image_transformer(labelled_digits):
    """A NumPy ufunc in FunctionTransformer transforms 4-D images and pickles."""
    X, _ = labelled_digits
    # FunctionTransformer passes arrays of any dimension through unchanged in
    # shape (validate=False), so the detector still sees (n, 1, 8, 8) images.
    pipe = make_pipeline(
        FunctionTransformer(np.sqrt), SkipGANomalyDetector(**FAST, random_state=0)
    ).fit(X)
    detector = pipe[-1]
    assert detector.image_shape_ == (1, 8, 8)
    assert detector.network_shape_ == (1, 32, 32)
    # The transform is applied before the detector, at fit and at scoring time.
    direct = SkipGANomalyDetector(**FAST, random_state=0).fit(np.sqrt(X))
    assert_array_equal(pipe.decision_function(X), direct.decision_function(np.sqrt(X)))
    # A ufunc (or any module-level function) pickles by reference; a lambda
    # would not.
    restored = pickle.loads(pickle.dumps(pipe))
    assert_array_equal(restored.decision_function(X), pipe.decision_function(X))


def test_pipeline_on_flattened_images_with_a_per_pixel_scaler(labelled_digits):
    """2-D transformers need flat rows; ``image_shape`` restores the images."""
    X, y = labelled_digits
    flat = X.reshape(len(X), -1)
    pipe = make_pipeline(
        StandardScaler(),
        SkipGANomalyDetector(**FAST, image_shape=(1, 8, 8), random_state=0),
    ).fit(flat[y == 0])
    assert pipe[-1].image_shape_ == (1, 8, 8)  # convolutional, not dense
    assert pipe.decision_function(flat).shape == (len(X),)


# --- clone and nested parameters ---------------------------------------------


def test_clone_is_unfitted_and_refits_to_the_same_scores(labelled_table):
    X, y = labelled_table
    fitted = SkipGANomalyDetector(**FAST, random_state=0).fit(X[y == 0])
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    copy.fit(X[y == 0])
    assert_array_equal(copy.decision_function(X), fitted.decision_function(X))


def test_nested_set_params_through_a_pipeline(labelled_table):
    X, y = labelled_table
    pipe = make_pipeline(StandardScaler(), SkipGANomalyDetector(**FAST))
    pipe.set_params(
        **{f"{DET}__epochs": 2, f"{DET}__random_state": 3},
        standardscaler__with_mean=False,
    )
    params = pipe.get_params(deep=True)
    assert params[f"{DET}__epochs"] == 2
    assert params["standardscaler__with_mean"] is False
    # clone keeps nested parameters, and fit uses them.
    fitted = clone(pipe).fit(X[y == 0])
    assert len(fitted[-1].history_) == 2
    assert fitted[-1].random_state == 3
    with pytest.raises(ValueError, match="Invalid parameter"):
        pipe.set_params(**{f"{DET}__no_such_parameter": 1})
    # Values are validated at fit, with the parameter named.
    pipe.set_params(**{f"{DET}__epochs": 0})
    with pytest.raises(InvalidParameterError, match="'epochs' parameter"):
        pipe.fit(X)


# --- Model selection -----------------------------------------------------------


def _check_search(search, X, candidates, metric="score"):
    """Checks every fitted search must pass, whatever the data."""
    scores = search.cv_results_[f"mean_test_{metric}"]
    assert len(scores) == candidates
    assert np.all(np.isfinite(scores))
    assert np.all((scores >= 0) & (scores <= 1))
    assert search.best_params_ == search.cv_results_["params"][np.argmax(scores)]
    assert search.best_score_ == scores.max()
    # refit=True: the best setting refitted on all of X, reproducibly.
    best = search.best_estimator_
    detector = best[-1] if isinstance(best, Pipeline) else best
    assert len(detector.decision_scores_) == len(X)
    again = clone(search.estimator).set_params(**search.best_params_).fit(X)
    assert_allclose(search.decision_function(X), again.decision_function(X), rtol=1e-5)


def test_grid_search_on_images_in_parallel(labelled_digits):
    X, y = labelled_digits
    cv = StratifiedKFold(3)
    search = GridSearchCV(
        SkipGANomalyDetector(**FAST, random_state=0),
        {"epochs": [1, 2]},
        scoring="roc_auc",
        cv=cv,
        n_jobs=2,
    ).fit(X, y)
    _check_search(search, X, candidates=2)
    # The score of a fold, fitted in a worker process, is the one a fit in
    # this process gives.
    train, test = next(cv.split(X, y))
    det = SkipGANomalyDetector(**FAST, random_state=0).fit(X[train])
    expected = roc_auc_score(y[test], det.decision_function(X[test]))
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(expected)


def test_grid_search_on_a_table_pipeline_in_parallel(labelled_table):
    X, y = labelled_table
    search = GridSearchCV(
        make_pipeline(StandardScaler(), SkipGANomalyDetector(**FAST, random_state=0)),
        {f"{DET}__epochs": [1, 2], f"{DET}__width": [4, 8]},
        scoring={"roc": "roc_auc", "ap": "average_precision"},
        refit="roc",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        n_jobs=2,
    ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_ap"]))
    _check_search(search, X, candidates=4, metric="roc")
    # The anomalies are 4 standard deviations away, even in the training folds.
    assert search.best_score_ > 0.8


def test_randomized_search_samples_continuous_parameters(labelled_table):
    X, y = labelled_table
    distributions = {
        f"{DET}__learning_rate": loguniform(1e-4, 1e-2),
        f"{DET}__score_weight": uniform(0.1, 0.8),
    }
    search = RandomizedSearchCV(
        make_pipeline(StandardScaler(), SkipGANomalyDetector(**FAST, random_state=0)),
        distributions,
        n_iter=3,
        scoring="roc_auc",
        cv=OneClassSplit(cv=3),
        random_state=0,
    ).fit(X, y)
    sampled = list(ParameterSampler(distributions, n_iter=3, random_state=0))
    assert list(search.cv_results_["params"]) == sampled
    for params in sampled:
        assert 1e-4 <= params[f"{DET}__learning_rate"] <= 1e-2
        assert 0.1 <= params[f"{DET}__score_weight"] <= 0.9
    _check_search(search, X, candidates=3)


def test_cross_val_score_trains_on_normal_samples_only(labelled_table):
    X, y = labelled_table
    cv = OneClassSplit(cv=StratifiedKFold(3, shuffle=True, random_state=0))
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("det", SkipGANomalyDetector(**FAST, random_state=0)),
        ]
    )
    scores = cross_val_score(pipe, X, y, scoring="roc_auc", cv=cv)
    assert scores.shape == (3,)
    assert np.all(scores > 0.9)
    # The detector of every fold saw exactly that fold's normal samples.
    fitted = cross_validate(pipe, X, y, cv=cv, scoring="roc_auc", return_estimator=True)
    for estimator, (train, _) in zip(fitted["estimator"], cv.split(X, y), strict=True):
        assert len(estimator["det"].decision_scores_) == len(train)
        assert len(train) == np.sum(y == 0) * 2 // 3
    assert_array_equal(fitted["test_score"], scores)


def test_cross_val_predict_gives_out_of_fold_scores(labelled_table):
    """Out-of-fold anomaly scores for every sample.

    Given ``y``, cross_val_predict(method="decision_function") reads
    ``classes_``, which outlier detectors lack (IsolationForest too), so the
    folds are computed first and y is left out.
    """
    X, y = labelled_table
    det = SkipGANomalyDetector(**FAST, random_state=0)
    folds = list(OneClassSplit(cv=3).split(X, y))
    scores = cross_val_predict(det, X, cv=folds, method="decision_function")
    assert roc_auc_score(y, scores) > 0.9
    train, test = folds[0]
    fold_model = clone(det).fit(X[train])
    assert_allclose(scores[test], fold_model.decision_function(X[test]), rtol=1e-6)


# --- End to end on real data (slow) --------------------------------------------


def _one_class_digits(normal_digit):
    digits = load_digits()
    images = digits.images[:, None]
    normal = images[digits.target == normal_digit]
    train, test_normal = train_test_split(normal, test_size=0.5, random_state=0)
    anomalies = images[digits.target != normal_digit]
    X_test = np.concatenate([test_normal, anomalies])
    y_test = np.r_[np.zeros(len(test_normal)), np.ones(len(anomalies))]
    return train, X_test, y_test


@pytest.mark.parametrize("normal_digit", [0, 1, 2])
def test_separates_a_digit_from_the_other_digits(normal_digit):
    """AUROC floor on one-class digits (about 90 training images of one digit).

    Measured with this configuration and seed: 0.996, 0.944 and 0.940 for digits
    0, 1 and 2 (PyOD's IForest: 0.999, 0.971, 0.967). The floor of 0.85 leaves
    room for floating-point differences across platforms, yet fails for a model
    that did not learn the digit's shape: undertrained (15 steps) the same
    networks scored 0.03 on digit 1, and at width 16 0.32.
    """
    X_train, X_test, y_test = _one_class_digits(normal_digit)
    detector = SkipGANomalyDetector(
        epochs=15, batch_size=16, width=32, device="cpu", random_state=0
    ).fit(X_train)
    assert roc_auc_score(y_test, detector.decision_function(X_test)) > 0.85
