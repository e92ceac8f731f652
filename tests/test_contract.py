"""Property-based tests of the detector's contract.

Hypothesis draws data shapes, dtypes, memory layouts, batch sizes and sample
orders; the models are small module-scoped detectors fitted once with ``FAST``
parameters, so that almost no example trains a network.
"""

import itertools
import pickle
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import FAST
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._inputs import flatten_images, intensity_unit

RTOL = 1e-6


def _copy(detector, **params):
    copied = pickle.loads(pickle.dumps(detector))
    return copied.set_params(**params)


def _mentions(*parts):
    """Regex for ``match=`` that requires every part, in any order."""
    return "(?s)" + "".join(f"(?=.*{re.escape(str(part))})" for part in parts)


pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def rgb_images():
    """24 colour 8x8 images, integer valued in [0, 255] (exact in float16)."""
    return np.random.RandomState(2).randint(0, 256, size=(24, 3, 8, 8)).astype(float)


@pytest.fixture(scope="module")
def fitted_rgb(rgb_images):
    return SkipGANomalyDetector(**FAST, random_state=0).fit(rgb_images)


@pytest.fixture(scope="module", params=["gray", "rgb", "table"])
def case(request):
    """A fitted detector, its training data and the scores of that data."""
    detector, X = {
        "gray": ("fitted_images", "images"),
        "rgb": ("fitted_rgb", "rgb_images"),
        "table": ("fitted_table", "table"),
    }[request.param]
    detector = request.getfixturevalue(detector)
    X = request.getfixturevalue(X)
    return SimpleNamespace(
        name=request.param,
        detector=detector,
        X=X,
        scores=detector.decision_function(X),
        # A private copy whose batch sizes the tests may change.
        rebatched=_copy(detector),
    )


@pytest.fixture(scope="module", params=["gray", "rgb"])
def image_case(request, tmp_path_factory):
    detector, X = {
        "gray": ("fitted_images", "images"),
        "rgb": ("fitted_rgb", "rgb_images"),
    }[request.param]
    detector = request.getfixturevalue(detector)
    X = request.getfixturevalue(X)
    return SimpleNamespace(
        detector=detector,
        by_layout={
            layout: _copy(detector, image_layout=layout)
            for layout in ("auto", "NCHW", "NHWC")
        },
        X=X,
        scores=detector.decision_function(X),
        tmp=tmp_path_factory.mktemp("memmaps"),
    )


def _subset(n, max_size=24):
    """Row indices in any order, with repeats: subsets, permutations, duplicates."""
    return st.lists(st.integers(0, n - 1), min_size=1, max_size=max_size)


def _perturbed(case, data):
    """Training rows, rescaled and shifted so that some are clear outliers."""
    idx = data.draw(_subset(len(case.X)), label="rows")
    # Mostly near the training data, so that many probabilities are not clipped.
    scale = data.draw(st.just(1.0) | st.floats(0.0, 3.0), label="scale")
    shift = data.draw(st.just(0.0) | st.floats(-1.0, 1.0), label="shift")
    return case.X[idx] * scale + shift * float(np.ptp(case.X))


# 1. A sample's score does not depend on its batch or its position in it.


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_score_does_not_depend_on_the_other_samples(case, data):
    idx = data.draw(_subset(len(case.X), max_size=40), label="rows")
    scores = case.detector.decision_function(case.X[idx])
    assert_allclose(scores, case.scores[idx], rtol=RTOL)


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_score_does_not_depend_on_the_order(case, data):
    order = data.draw(st.permutations(range(len(case.X))), label="order")
    scores = case.detector.decision_function(case.X[order])
    assert_allclose(scores, case.scores[order], rtol=RTOL)


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_score_does_not_depend_on_the_batch_size(case, data):
    # Scoring batches come from the fitted skorch net, not from the estimator's
    # parameter (which only takes effect at the next fit), so both are set.
    batch_size = data.draw(st.integers(1, len(case.X) + 5), label="batch_size")
    idx = data.draw(_subset(len(case.X), max_size=40), label="rows")
    detector = case.rebatched
    detector.set_params(batch_size=batch_size)
    detector.net_.set_params(batch_size=batch_size)
    assert_allclose(
        detector.decision_function(case.X[idx]), case.scores[idx], rtol=RTOL
    )


def test_training_data_scores_again_as_in_fit(case):
    assert_allclose(case.scores, case.detector.decision_scores_, rtol=RTOL)
    assert_array_equal(case.detector.predict(case.X), case.detector.labels_)


# 2. predict is the thresholded decision function.


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_predict_thresholds_the_decision_function(case, data):
    X = _perturbed(case, data)
    labels = case.detector.predict(X)
    expected = case.detector.decision_function(X) > case.detector.threshold_
    assert labels.dtype.kind == "i"
    assert labels.shape == (len(X),)
    assert set(np.unique(labels)) <= {0, 1}
    assert_array_equal(labels, expected.astype(int))


# 3. predict_proba is a probability, increasing with the score.


@settings(max_examples=15, deadline=None)
@given(data=st.data(), method=st.sampled_from(["linear", "unify"]))
def test_predict_proba_is_a_monotone_probability(case, data, method):
    X = _perturbed(case, data)
    proba = case.detector.predict_proba(X, method=method)
    scores = case.detector.decision_function(X)
    assert proba.shape == (len(X), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    order = np.argsort(scores, kind="stable")
    assert np.all(np.diff(proba[order, 1]) >= 0)


def test_predict_proba_is_not_constant(case):
    # Keeps the monotonicity property from passing on a constant column.
    X = np.concatenate([case.X, case.X * 100.0])
    outlier = case.detector.predict_proba(X)[:, 1]
    assert outlier[len(case.X) :].min() == 1.0
    assert outlier[: len(case.X)].min() < 1.0


# 4. score_samples is sklearn's orientation of the same score.


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_score_samples_is_minus_decision_function(case, data):
    X = _perturbed(case, data)
    assert_array_equal(
        case.detector.score_samples(X), -case.detector.decision_function(X)
    )


# 5. Same random_state, same model, whatever the global random states.


@settings(max_examples=3, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    as_instance=st.booleans(),
    kind=st.sampled_from(["images", "table"]),
    global_seeds=st.tuples(st.integers(0, 2**31), st.integers(0, 2**31)),
)
def test_same_random_state_gives_identical_scores(
    seed, as_instance, kind, global_seeds
):
    rng = np.random.RandomState(3)
    if kind == "images":
        X = rng.randint(0, 17, size=(16, 1, 8, 8)).astype(float)
    else:
        X = rng.normal(size=(24, 3))
    X_test = X[::-1] + 0.5

    def fit(global_seed):
        random_state = np.random.RandomState(seed) if as_instance else seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(global_seed)
            return SkipGANomalyDetector(**FAST, random_state=random_state).fit(X)

    first, second = (fit(global_seed) for global_seed in global_seeds)
    assert_array_equal(first.decision_scores_, second.decision_scores_)
    assert_array_equal(
        first.decision_function(X_test), second.decision_function(X_test)
    )


def test_random_state_changes_the_model(table, fitted_table):
    # Without this, the property above would also hold for an ignored seed.
    other = SkipGANomalyDetector(**FAST, random_state=1).fit(table)
    assert not np.array_equal(other.decision_scores_, fitted_table.decision_scores_)


# 6. n_features_in_ and image_shape_ follow the input's shape.

_SIDES = st.integers(8, 20)


@given(
    n=st.integers(1, 3),
    c=st.integers(1, 4),
    h=_SIDES,
    w=_SIDES,
    given_as=st.sampled_from(["NCHW", "NHWC"]),
    auto=st.booleans(),
    as_list=st.booleans(),
)
def test_flatten_images_of_every_shape(n, c, h, w, given_as, auto, as_list):
    nchw = np.arange(n * c * h * w, dtype=float).reshape(n, c, h, w)
    X = nchw.transpose(0, 2, 3, 1) if given_as == "NHWC" else nchw
    flat, shape = flatten_images(
        X.tolist() if as_list else X, "auto" if auto else given_as
    )
    assert shape == (c, h, w)
    assert_array_equal(flat, nchw.reshape(n, -1))


@given(
    n=st.integers(1, 3),
    h=_SIDES,
    w=_SIDES,
    layout=st.sampled_from(["auto", "NCHW", "NHWC"]),
)
def test_flatten_images_reads_3d_as_grayscale(n, h, w, layout):
    X = np.arange(n * h * w, dtype=float).reshape(n, h, w)
    flat, shape = flatten_images(X, layout)
    assert shape == (1, h, w)
    assert_array_equal(flat, X.reshape(n, -1))


@given(n=st.integers(1, 3), d=st.integers(1, 50))
def test_flatten_images_leaves_tables_alone(n, d):
    X = np.ones((n, d))
    flat, shape = flatten_images(X)
    assert shape is None
    assert flat is X


@given(
    c=st.integers(1, 4),
    h=st.integers(1, 20),
    w=st.integers(1, 20),
    layout=st.sampled_from(["NCHW", "NHWC"]),
)
def test_flatten_images_rejects_small_images(c, h, w, layout):
    if min(h, w) >= 8:
        h = 7
    shape = (2, c, h, w) if layout == "NCHW" else (2, h, w, c)
    with pytest.raises(ValueError, match=_mentions("at least 8x8", (c, h, w))):
        flatten_images(np.zeros(shape), layout)


@settings(max_examples=5, deadline=None)
@given(
    n=st.integers(8, 16),
    c=st.sampled_from([1, 3]),
    h=st.sampled_from([8, 12, 16]),
    w=st.sampled_from([8, 12, 16]),
    form=st.sampled_from(["NCHW", "NHWC", "HW", "flat"]),
)
def test_fit_records_the_image_shape(n, c, h, w, form):
    if form == "HW":
        c = 1
    nchw = np.random.RandomState(n).randint(0, 256, size=(n, c, h, w)).astype(float)
    params = {}
    X = {
        "NCHW": nchw,
        "NHWC": nchw.transpose(0, 2, 3, 1),
        "HW": nchw[:, 0],
        "flat": nchw.reshape(n, -1),
    }[form]
    if form == "flat":
        params["image_shape"] = (c, h, w)
    detector = SkipGANomalyDetector(**FAST, **params, random_state=0).fit(X)
    assert detector.n_features_in_ == c * h * w
    assert detector.image_shape_ == (c, h, w)
    assert detector.network_shape_ == (c, 32, 32)
    assert_allclose(detector.decision_function(X), detector.decision_scores_, rtol=RTOL)
    assert_allclose(
        detector.decision_function(nchw), detector.decision_scores_, rtol=RTOL
    )


@settings(max_examples=3, deadline=None)
@given(n=st.integers(4, 16), d=st.integers(1, 8))
def test_fit_on_a_table_records_no_image_shape(n, d):
    X = np.random.RandomState(d).normal(size=(n, d))
    detector = SkipGANomalyDetector(**FAST, random_state=0).fit(X)
    assert detector.n_features_in_ == d
    assert detector.image_shape_ is None
    assert detector.network_shape_ is None


@given(
    c=st.integers(1, 4), h=_SIDES, w=_SIDES, d=st.integers(1, 2000), n=st.integers(2, 4)
)
def test_fit_rejects_an_image_shape_that_does_not_fit(c, h, w, d, n):
    if c * h * w == d:
        d += 1
    with pytest.raises(ValueError, match=_mentions((c, h, w), d)):
        SkipGANomalyDetector(**FAST, image_shape=(c, h, w)).fit(np.zeros((n, d)))


# 7. Every input form of the same images gives the same scores.

_MEMMAP_NAMES = (f"images-{i}.dat" for i in itertools.count())


def _as_form(X, form, tmp):
    """``X`` (NCHW, float64, integer valued) in another input form."""
    nhwc = np.ascontiguousarray(X.transpose(0, 2, 3, 1))
    if form in ("float64", "float32", "float16", "uint8", "int64"):
        return X.astype(form)
    if form == "list":
        return X.tolist()
    if form in ("NHWC", "NHWC-list"):
        return nhwc.tolist() if form == "NHWC-list" else nhwc
    if form == "transposed-view":
        return nhwc.transpose(0, 3, 1, 2)
    if form == "fortran":
        return np.asfortranarray(X)
    if form == "reversed-view":
        return np.ascontiguousarray(X[:, :, ::-1, ::-1])[:, :, ::-1, ::-1]
    if form == "strided-view":
        spaced = np.zeros((2 * len(X), *X.shape[1:]), dtype=np.float32)
        spaced[::2] = X
        return spaced[::2]
    if form == "read-only":
        X = X.copy()
        X.flags.writeable = False
        return X
    if form in ("memmap", "NHWC-memmap"):
        # A channels-last memmap is streamed with its rows reordered per batch.
        X = nhwc if form == "NHWC-memmap" else X
        path = tmp / next(_MEMMAP_NAMES)
        written = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
        written[:] = X
        written.flush()
        del written
        return np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    if form == "flat":
        return X.reshape(len(X), -1)
    if form == "HW":
        return X[:, 0]
    raise AssertionError(form)


_FORMS = [
    "float64", "float32", "float16", "uint8", "int64", "list", "NHWC", "NHWC-list",
    "transposed-view", "fortran", "reversed-view", "strided-view", "read-only",
    "memmap", "NHWC-memmap", "flat", "HW",
]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    form=st.sampled_from(_FORMS),
    layout=st.sampled_from(["auto", "NCHW", "NHWC"]),
)
def test_every_input_form_gives_the_same_scores(image_case, data, form, layout):
    if form == "HW" and image_case.X.shape[1] != 1:
        form = "NHWC"
    if form.startswith("NHWC"):
        layout = "NHWC" if layout == "NCHW" else layout
    elif layout == "NHWC":
        layout = "NCHW"
    idx = data.draw(_subset(len(image_case.X)), label="rows")
    X = _as_form(image_case.X[idx], form, image_case.tmp)
    detector = image_case.by_layout[layout]
    expected = image_case.scores[idx]
    if form in ("uint8", "int64"):
        # An integer image carries its range: the same picture is X / 255 (uint8).
        same_picture = image_case.X[idx] / intensity_unit(form)
        expected = detector.decision_function(same_picture)
    assert_allclose(detector.decision_function(X), expected, rtol=RTOL)


@pytest.mark.parametrize("form", ["NHWC", "NHWC-memmap", "uint8", "list", "flat"])
def test_fit_on_every_input_form_gives_the_same_model(
    fitted_rgb, rgb_images, form, tmp_path
):
    X = _as_form(rgb_images, form, tmp_path)
    params = {"image_shape": (3, 8, 8)} if form == "flat" else {}
    detector = SkipGANomalyDetector(**FAST, **params, random_state=0).fit(X)
    assert_allclose(detector.decision_scores_, fitted_rgb.decision_scores_, rtol=RTOL)


def test_predict_proba_accepts_lists(fitted_images, images):
    assert_array_equal(
        fitted_images.predict_proba(images.tolist()),
        fitted_images.predict_proba(images),
    )


# 8. Bad input always fails with a clear ValueError, never inside torch.

_NON_FINITE = [np.nan, np.inf, -np.inf, 1e39, -1e300]


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    stage=st.sampled_from(
        ["fit", "decision_function", "predict", "predict_proba", "score_samples"]
    ),
    form=st.sampled_from(["float64", "float32", "list", "NHWC"]),
)
def test_non_finite_values_raise_a_clear_error(case, data, stage, form):
    X = case.X[: data.draw(st.integers(1, 6), label="n")].copy()
    positions = data.draw(
        st.lists(st.integers(0, X.size - 1), min_size=1, max_size=5, unique=True),
        label="positions",
    )
    values = data.draw(
        st.lists(
            st.sampled_from(_NON_FINITE),
            min_size=len(positions),
            max_size=len(positions),
        ),
        label="values",
    )
    X.reshape(-1)[positions] = values
    if form == "NHWC" and X.ndim == 4:
        X = X.transpose(0, 2, 3, 1)
    elif form == "list":
        X = X.tolist()
    elif form == "float32":
        X = X.astype(np.float32)
    if np.isnan(values).any():
        message = "Input X contains NaN"
    else:
        message = "Input X contains infinity or a value too large"
    if stage == "fit":
        detector = SkipGANomalyDetector(**FAST)
        with pytest.raises(ValueError, match=message):
            detector.fit(X)
        assert not hasattr(detector, "n_features_in_")
    else:
        with pytest.raises(ValueError, match=message):
            getattr(case.detector, stage)(X)


@pytest.fixture(scope="module", params=["gray", "rgb"])
def fitted_image_detector(request):
    return request.getfixturevalue(
        {"gray": "fitted_images", "rgb": "fitted_rgb"}[request.param]
    )


@settings(max_examples=25, deadline=None)
@given(
    c=st.integers(1, 4),
    h=_SIDES,
    w=_SIDES,
    n=st.integers(1, 3),
    grayscale_3d=st.booleans(),
    method=st.sampled_from(["decision_function", "predict", "predict_proba"]),
)
@example(c=1, h=8, w=24, n=2, grayscale_3d=False, method="predict")
@example(c=3, h=16, w=16, n=2, grayscale_3d=False, method="predict")
def test_wrong_image_shape_names_both_shapes(
    fitted_image_detector, c, h, w, n, grayscale_3d, method
):
    detector = fitted_image_detector
    if (c, h, w) == detector.image_shape_:
        h += 1
    X = np.zeros((n, c, h, w))
    if grayscale_3d and c == 1:
        X = X[:, 0]
    with pytest.raises(ValueError, match=_mentions((c, h, w), detector.image_shape_)):
        getattr(detector, method)(X)


@settings(max_examples=20, deadline=None)
@given(d=st.integers(1, 400), n=st.integers(1, 3))
def test_wrong_feature_count_names_both_counts(case, d, n):
    expected = case.detector.n_features_in_
    if d == expected:
        d += 1
    with pytest.raises(
        ValueError, match=_mentions(f"X has {d} features", f"expecting {expected}")
    ):
        case.detector.decision_function(np.zeros((n, d)))


@settings(max_examples=10, deadline=None)
@given(c=st.integers(1, 4), h=_SIDES, w=_SIDES, grayscale_3d=st.booleans())
def test_images_given_to_a_table_detector_name_both_shapes(
    fitted_table, c, h, w, grayscale_3d
):
    X = np.zeros((2, c, h, w))
    if grayscale_3d:
        X, c = X[:, 0], 1
    with pytest.raises(
        ValueError,
        match=_mentions((c, h, w), f"{fitted_table.n_features_in_} features"),
    ):
        fitted_table.decision_function(X)


@settings(max_examples=5, deadline=None)
@given(c=st.integers(1, 4), h=st.integers(1, 7), w=_SIDES)
def test_too_small_images_at_predict_name_both_shapes(fitted_images, c, h, w):
    with pytest.raises(
        ValueError, match=_mentions((c, h, w), fitted_images.image_shape_)
    ):
        fitted_images.decision_function(np.zeros((2, c, h, w)))


@settings(max_examples=5, deadline=None)
@given(c=st.integers(1, 4), h=_SIDES, w=st.integers(1, 4))
def test_ambiguous_images_at_predict_name_both_shapes(fitted_rgb, c, h, w):
    with pytest.raises(ValueError, match=_mentions(fitted_rgb.image_shape_)):
        fitted_rgb.decision_function(np.zeros((2, c, h, w)))
