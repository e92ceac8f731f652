"""PyOD's comparison utilities with the detector among PyOD's own detectors.

Covers ``pyod.utils.data.evaluate_print``, ``pyod.utils.utility``
(``precision_n_scores``, ``standardizer``), the score combinations of
``pyod.models.combination`` (which need the ``combo`` package), the ensembles
that take detector objects (LSCP, FeatureBagging, SUOD; SUOD needs ``suod``),
``pyod.utils.persistence`` and a loop in the style of PyOD's benchmark script.
All of these are 2-D only in PyOD, so tables are used, plus flattened images
where a case is about images.
"""

import time

import numpy as np
import pytest
from conftest import FAST
from numpy.testing import assert_allclose, assert_array_equal
from pyod.models.auto_encoder import AutoEncoder
from pyod.models.iforest import IForest
from pyod.models.lof import LOF
from pyod.models.lscp import LSCP
from pyod.utils.data import evaluate_print
from pyod.utils.persistence import load, save
from pyod.utils.utility import precision_n_scores, standardizer
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_sganomaly import SkipGANomalyDetector

pytestmark = pytest.mark.usefixtures("single_thread")

# pyod.models.combination and FeatureBagging import combo at module level.
combination = pytest.importorskip(
    "pyod.models.combination", reason="needs combo (pip install combo)"
)

OURS = "SkipGANomaly"


def _contaminated(n, n_features, seed, contamination=0.1):
    """PyOD-style data: inliers N(0, I), scattered outliers; y = 1 for outliers.

    The outliers lie in random directions at a distance of 5 to 7. Scattered,
    they stay outliers for local detectors such as LOF even when the training
    data hold them (a tight outlier cluster would look normal to LOF). PyOD's
    ``generate_data`` is not used: it puts a tight inlier cluster in a corner of
    the outliers' box, which a detector trained for one or two epochs, as here,
    ranks backwards.
    """
    rng = np.random.RandomState(seed)
    n_out = int(n * contamination)
    directions = rng.normal(size=(n_out, n_features))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    X = np.r_[
        rng.normal(size=(n - n_out, n_features)),
        directions * rng.uniform(5, 7, size=(n_out, 1)),
    ]
    y = np.r_[np.zeros(n - n_out, int), np.ones(n_out, int)]
    order = rng.permutation(n)
    return X[order], y[order]


def _ours(**params):
    # The paper's score: with FAST's tiny networks and 2 epochs, the default
    # neighbour score on the first epoch's discriminator misses these tests'
    # quality bars on small tables (benchmarks/README.md, tabular benchmark).
    params = {**FAST, "epochs": 2, "anomaly_score": "official", **params}
    return SkipGANomalyDetector(**params, random_state=0)


def _peers():
    return {
        "IForest": IForest(random_state=0),
        "LOF": LOF(),
        # Tiny and short, like FAST: the tests exercise the plumbing.
        "AutoEncoder": AutoEncoder(
            hidden_neuron_list=[8, 4],
            epoch_num=2,
            batch_size=32,
            verbose=0,
            random_state=0,
        ),
    }


def _top_n_precision(y, scores, n):
    """Share of outliers among the n highest scores (no ties in these scores)."""
    return y[np.argsort(scores)[::-1][:n]].mean()


@pytest.fixture(scope="module")
def split():
    X_train, y_train = _contaminated(200, 6, seed=0)
    X_test, y_test = _contaminated(100, 6, seed=1)
    return X_train, X_test, y_train, y_test


@pytest.fixture(scope="module")
def fitted(split):
    """Our detector and its PyOD peers, fitted on the same contaminated data."""
    X_train = split[0]
    return {name: det.fit(X_train) for name, det in {OURS: _ours(), **_peers()}.items()}


@pytest.fixture(scope="module")
def score_matrices(split, fitted):
    """(n_samples, n_detectors) training and test score matrices."""
    X_test = split[1]
    train = np.column_stack([det.decision_scores_ for det in fitted.values()])
    test = np.column_stack([det.decision_function(X_test) for det in fitted.values()])
    return train, test


# --- Metrics ------------------------------------------------------------------


def test_evaluate_print_reports_roc_and_precision_at_n(split, fitted, capsys):
    y_test = split[3]
    scores = fitted[OURS].decision_function(split[1])
    evaluate_print(OURS, y_test, scores)
    roc = roc_auc_score(y_test, scores)
    prn = _top_n_precision(y_test, scores, y_test.sum())
    expected = f"{OURS} ROC:{np.round(roc, 4)}, precision @ rank n:{np.round(prn, 4)}"
    assert capsys.readouterr().out.strip() == expected
    # Higher = more abnormal, as PyOD expects: no sign flip needed.
    assert roc > 0.9


@pytest.mark.parametrize("n", [None, 5, 25])
def test_precision_n_scores_is_the_share_of_outliers_among_the_top_n(split, fitted, n):
    y_test = split[3]
    scores = fitted[OURS].decision_function(split[1])
    expected = _top_n_precision(y_test, scores, y_test.sum() if n is None else n)
    assert precision_n_scores(y_test, scores, n=n) == pytest.approx(expected)


def test_standardizer_uses_the_training_scores(score_matrices):
    train, test = score_matrices
    train_z, test_z, scaler = standardizer(train, test, keep_scalar=True)
    assert_allclose(train_z.mean(axis=0), 0, atol=1e-9)
    assert_allclose(train_z.std(axis=0), 1, rtol=1e-9)
    # Test scores are standardized with the training statistics, so the
    # columns of different detectors become comparable without leakage.
    assert_allclose(test_z, (test - train.mean(axis=0)) / train.std(axis=0))
    assert_allclose(scaler.mean_, train.mean(axis=0))


# --- Score combination ----------------------------------------------------------


@pytest.fixture(scope="module")
def standardized_test_scores(score_matrices):
    return standardizer(*score_matrices)[1]


@pytest.mark.parametrize(
    ("name", "reference"),
    [("average", np.mean), ("maximization", np.max), ("median", np.median)],
)
def test_simple_combinations(split, standardized_test_scores, name, reference):
    combined = getattr(combination, name)(standardized_test_scores)
    assert_allclose(combined, reference(standardized_test_scores, axis=1))
    assert roc_auc_score(split[3], combined) > 0.9


@pytest.mark.parametrize("name", ["aom", "moa"])
def test_bucket_combinations(split, standardized_test_scores, name):
    scores = standardized_test_scores
    combined = getattr(combination, name)(scores, n_buckets=2)
    assert combined.shape == (len(scores),)
    # Averages of maxima and maxima of averages lie within each row's range.
    assert np.all(combined >= scores.min(axis=1) - 1e-12)
    assert np.all(combined <= scores.max(axis=1) + 1e-12)
    assert roc_auc_score(split[3], combined) > 0.9


def test_majority_vote_on_predicted_labels(split, fitted):
    X_test, y_test = split[1], split[3]
    labels = np.column_stack([det.predict(X_test) for det in fitted.values()])
    assert set(np.unique(labels[:, 0])) <= {0, 1}  # our predict is PyOD's 0/1
    vote = combination.majority_vote(labels)
    assert set(np.unique(vote)) <= {0, 1}
    unanimous = np.all(labels == labels[:, :1], axis=1)
    assert_array_equal(vote[unanimous], labels[unanimous, 0])
    # 0/1 labels with 1 = outlier: the vote finds the outliers.
    assert vote[y_test == 1].mean() > 0.8
    assert vote[y_test == 0].mean() < 0.2


# --- Ensembles taking detector objects --------------------------------------------


def test_lscp_with_our_detector(split):
    X_train, X_test, _, y_test = split
    ours = _ours()
    detectors = [ours, IForest(random_state=0), LOF()]
    # n_bins may not exceed the number of detectors.
    lscp = LSCP(detectors, n_bins=3, random_state=0).fit(X_train)
    # LSCP fits the given detectors in place, on its standardized copy of X.
    assert len(ours.decision_scores_) == len(X_train)
    scores = lscp.decision_function(X_test)
    assert scores.shape == (len(X_test),)
    assert roc_auc_score(y_test, scores) > 0.9


def test_feature_bagging_clones_our_detector_on_feature_subsets(split):
    from pyod.models.feature_bagging import FeatureBagging

    X_train, X_test, _, y_test = split
    bagging = FeatureBagging(
        base_estimator=_ours(), n_estimators=3, max_features=0.5, random_state=0
    ).fit(X_train)
    assert len(bagging.estimators_) == 3
    for estimator, features in zip(
        bagging.estimators_, bagging.estimators_features_, strict=True
    ):
        assert isinstance(estimator, SkipGANomalyDetector)
        assert estimator.n_features_in_ == len(features) < X_train.shape[1]
    assert roc_auc_score(y_test, bagging.decision_function(X_test)) > 0.9


def test_feature_bagging_cannot_bag_image_pixels():
    """Random pixel subsets are no longer (C, H, W) images; the error says so."""
    from pyod.models.feature_bagging import FeatureBagging

    flat_images = np.random.RandomState(0).rand(40, 64)
    bagging = FeatureBagging(
        base_estimator=_ours(image_shape=(1, 8, 8)), n_estimators=2, random_state=0
    )
    with pytest.raises(ValueError, match=r"image_shape=\(1, 8, 8\) must be"):
        bagging.fit(flat_images)


def _suod(n_jobs, bps_flag):
    pytest.importorskip("suod", reason="SUOD needs the suod package")
    from pyod.models.suod import SUOD

    return SUOD(
        base_estimators=[_ours(), IForest(random_state=0), LOF(), IForest()],
        n_jobs=n_jobs,
        bps_flag=bps_flag,
        combination="average",
        verbose=False,
    )


def _check_suod(suod, split, capsys):
    X_train, X_test, _, y_test = split
    suod.fit(X_train)
    capsys.readouterr()  # suod prints its cost model's repr and joblib progress
    ours = [
        m for m in suod.model_.base_estimators if isinstance(m, SkipGANomalyDetector)
    ]
    assert len(ours) == 1
    # The copy SUOD trained (possibly in another process) is our model, fitted.
    expected = _ours().fit(X_train).decision_function(X_test)
    assert_allclose(ours[0].decision_function(X_test), expected, rtol=1e-5)
    assert roc_auc_score(y_test, suod.decision_function(X_test)) > 0.9


def test_suod_with_our_detector(split, capsys):
    # Balanced parallel scheduling only matters with several jobs, and it
    # loads a pre-trained cost model that takes seconds; it is tested as slow.
    _check_suod(_suod(n_jobs=1, bps_flag=False), split, capsys)


@pytest.mark.slow
# SUOD's cost model knows PyOD's detectors by name; others get a generic code.
@pytest.mark.filterwarnings("ignore:UNK does not have a predefined code")
def test_suod_schedules_our_detector_across_processes(split, capsys):
    """SUOD's cost model and scheduler send our detector to a worker process."""
    _check_suod(_suod(n_jobs=2, bps_flag=True), split, capsys)


# --- Persistence ------------------------------------------------------------------


def test_pyod_persistence_round_trip(split, fitted, tmp_path):
    X_test = split[1]
    ours = fitted[OURS]
    path = tmp_path / "ours.joblib"
    save(ours, path, metadata={"data": "shell-6d"})
    # trusted=True: PyOD's load unpickles, which can run code from the file.
    loaded, envelope = load(path, strict=True, return_metadata=True, trusted=True)
    assert type(loaded) is SkipGANomalyDetector
    assert envelope["model_class"] == "sklearn_sganomaly._detector.SkipGANomalyDetector"
    assert envelope["metadata"] == {"data": "shell-6d"}
    assert_array_equal(loaded.decision_function(X_test), ours.decision_function(X_test))
    assert_array_equal(loaded.predict(X_test), ours.predict(X_test))
    assert loaded.threshold_ == ours.threshold_


# --- A benchmark loop in the style of PyOD's notebooks/benchmark.py ------------------


def test_benchmark_loop(capsys):
    pd = pytest.importorskip("pandas")
    datasets = {
        "shell-6d": _contaminated(250, 6, seed=2),
        "shell-12d": _contaminated(250, 12, seed=3),
    }
    detectors = {OURS: _ours(), "IForest": IForest(random_state=0), "LOF": LOF()}
    roc_rows, prn_rows, time_rows = [], [], []
    for name, (X, y) in datasets.items():
        # As benchmark.py: a 60/40 split, then standardizer on the training part.
        X_train, X_test, _, y_test = train_test_split(
            X, y, test_size=0.4, random_state=np.random.RandomState(0)
        )
        X_train_norm, X_test_norm = standardizer(X_train, X_test)
        roc_row, prn_row, time_row = [name], [name], [name]
        for clf_name, prototype in detectors.items():
            clf = clone(prototype)
            start = time.time()
            clf.fit(X_train_norm)
            test_scores = np.nan_to_num(clf.decision_function(X_test_norm))
            time_row.append(round(time.time() - start, 4))
            roc_row.append(round(roc_auc_score(y_test, test_scores), 4))
            prn_row.append(round(precision_n_scores(y_test, test_scores), 4))
            evaluate_print(clf_name, y_test, test_scores)
        roc_rows.append(roc_row)
        prn_rows.append(prn_row)
        time_rows.append(time_row)
    columns = ["data", *detectors]
    roc = pd.DataFrame(roc_rows, columns=columns).set_index("data")
    prn = pd.DataFrame(prn_rows, columns=columns).set_index("data")
    elapsed = pd.DataFrame(time_rows, columns=columns).set_index("data")
    assert roc.shape == prn.shape == elapsed.shape == (2, 3)
    assert capsys.readouterr().out.count(f"{OURS} ROC:") == 2
    # Every detector finds the scattered outliers, ours included.
    assert (roc.to_numpy() > 0.9).all()
    assert (prn.to_numpy() >= 0.5).all()
    assert (elapsed.to_numpy() > 0).all()
