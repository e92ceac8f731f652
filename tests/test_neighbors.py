"""FeatureNeighbours: kNN, LOF and their combination, fitted on reference features."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.neighbors import LocalOutlierFactor

from sklearn_sganomaly import _neighbors
from sklearn_sganomaly._neighbors import NEIGHBOUR_SCORES, FeatureNeighbours


@pytest.fixture(scope="module")
def features():
    rng = np.random.RandomState(0)
    return rng.normal(size=(40, 6)), rng.normal(size=(15, 6)) * 2


def test_knn_is_the_log_mean_distance_to_the_k_nearest_references(features):
    reference, queries = features
    fitted = FeatureNeighbours("knn", 3).fit(reference)
    distances = np.linalg.norm(queries[:, None] - reference[None], axis=2)
    expected = np.log(np.sort(distances, axis=1)[:, :3].mean(axis=1))
    assert_allclose(fitted.score(queries), expected, rtol=1e-12)


def test_lof_is_the_log_of_sklearns_local_outlier_factor(features):
    reference, queries = features
    lof = LocalOutlierFactor(n_neighbors=4, novelty=True).fit(reference)
    fitted = FeatureNeighbours("lof", 4).fit(reference)
    assert_allclose(fitted.score(queries), np.log(-lof.score_samples(queries)))


def test_left_out_lof_of_the_references_is_sklearns(features):
    reference, _ = features
    lof = LocalOutlierFactor(n_neighbors=4).fit(reference)
    loo = np.log(-lof.negative_outlier_factor_)
    fitted = FeatureNeighbours("lof", 4).fit(reference)
    assert fitted.moments_["lof"] == (loo.mean(), loo.std())


def test_combination_standardises_each_score_on_left_out_references(features):
    reference, queries = features
    both = FeatureNeighbours("knn+lof", 5).fit(reference)
    expected = sum(
        (FeatureNeighbours(name, 5).fit(reference).score(queries) - mean) / std
        for name, (mean, std) in both.moments_.items()
    )
    assert_allclose(both.score(queries), expected)
    # Left-out kNN scores of the references are those of new queries: a
    # reference does not count itself among its neighbours.
    mean, _ = both.moments_["knn"]
    knn = FeatureNeighbours("knn", 5).fit(reference)
    loo = [
        FeatureNeighbours("knn", 5).fit(np.delete(reference, i, 0)).score(row[None])[0]
        for i, row in enumerate(reference)
    ]
    assert mean == pytest.approx(np.mean(loo))
    assert knn.n_neighbors_ == 5


def test_neighbour_scores_do_not_depend_on_the_other_queries(features):
    reference, queries = features
    for method in NEIGHBOUR_SCORES:
        fitted = FeatureNeighbours(method, 5).fit(reference)
        together = fitted.score(queries)
        alone = [fitted.score(q[None])[0] for q in queries]
        assert_array_equal(together, alone)


def test_high_dimensional_scores_are_exact_and_batch_independent(monkeypatch):
    # Discriminator features have 100 dimensions: brute force proposes the
    # neighbours there, and its matrix-product distances round differently
    # with the number of queries (below about 16 rows here).
    rng = np.random.RandomState(1)
    reference, queries = rng.normal(size=(300, 100)), rng.normal(size=(40, 100))
    fitted = FeatureNeighbours("knn+lof", 5).fit(reference)
    together = fitted.score(queries)
    for size in (1, 3, 7):
        in_parts = [fitted.score(queries[i : i + size]) for i in range(0, 40, size)]
        assert_array_equal(np.concatenate(in_parts), together)
    # Queries are re-ranked in blocks; a block's size changes nothing.
    monkeypatch.setattr(_neighbors, "_QUERY_BLOCK", 6)
    assert_array_equal(fitted.score(queries), together)
    # Distances one pair at a time, as the exhaustive search computes them.
    distances, neighbours = fitted._kneighbors(queries)
    exact = np.sqrt(np.square(queries[:, None] - reference[None]).sum(axis=2))
    assert_array_equal(neighbours, np.argsort(exact, axis=1)[:, :5])
    assert_array_equal(distances, np.sort(exact, axis=1)[:, :5])


def test_more_neighbours_than_references_use_all_but_one(features):
    reference, queries = features
    fitted = FeatureNeighbours("knn+lof", 500).fit(reference[:4])
    assert fitted.n_neighbors_ == 3
    assert np.all(np.isfinite(fitted.score(queries)))


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        FeatureNeighbours("mahalanobis", 5)


def test_standardised_score_is_an_affine_map_of_the_score(features):
    reference, queries = features
    for method in ("knn", "lof"):
        neighbours = FeatureNeighbours(method, 5).fit(reference)
        raw = neighbours.score(queries)
        mean, std = neighbours.moments_[method]
        assert_allclose(neighbours.standardised_score(queries), (raw - mean) / std)
