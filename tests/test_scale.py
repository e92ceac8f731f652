"""Model selection on a Dask cluster, through joblib's dask backend.

A ``dask.distributed.LocalCluster`` of 2 worker processes with 1 thread each,
bound to 127.0.0.1, stands in for a real cluster: ``GridSearchCV`` sends its fits
to the workers and must find what the sequential run finds, score for score.
"""

import time

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sklearn_sganomaly import SkipGANomalyDetector

distributed = pytest.importorskip(
    "distributed",
    reason="dask.distributed is not installed (pip install 'sklearn-sganomaly[dask]')",
)
dask = pytest.importorskip("dask")

PARAMS = {"epochs": 1, "width": 4, "latent_dim": 8, "batch_size": 16, "device": "cpu"}
GRID = {"contextual_weight": [1.0, 50.0], "learning_rate": [2e-4, 1e-3]}


def labelled_table():
    rng = np.random.RandomState(0)
    normal = rng.normal(size=(90, 5))
    anomalies = rng.normal(loc=3.0, size=(10, 5))
    return np.vstack([normal, anomalies]), np.r_[np.zeros(90), np.ones(10)]


def grid_search():
    return GridSearchCV(
        SkipGANomalyDetector(**PARAMS, random_state=0),
        GRID,
        scoring="roc_auc",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        n_jobs=-1,
    )


def torch_threads():
    return torch.get_num_threads()


def test_grid_search_on_dask_matches_sequential(single_thread):
    X, y = labelled_table()
    start = time.perf_counter()
    sequential = grid_search().set_params(n_jobs=None).fit(X, y)
    sequential_s = time.perf_counter() - start

    # The nanny starts each worker process with OMP_NUM_THREADS from this setting
    # (1 is also dask's default), so torch runs one thread per worker.
    environ = {"distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": 1}
    with (
        dask.config.set(environ),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        workers = client.run(torch_threads)
        assert set(workers.values()) == {1}
        start = time.perf_counter()
        with (
            distributed.get_task_stream(client) as tasks,
            joblib.parallel_config(backend="dask"),
        ):
            on_dask = grid_search().fit(X, y)
        dask_s = time.perf_counter() - start
    # The 4 candidates x 3 folds ran on the workers, not in this process.
    n_fits = 4 * 3
    assert len(tasks.data) >= n_fits
    assert {task["worker"] for task in tasks.data} == set(workers)

    assert on_dask.best_params_ == sequential.best_params_
    for key in sequential.cv_results_:
        if key.startswith(("split", "mean_test", "std_test", "rank_test")):
            np.testing.assert_array_equal(
                on_dask.cv_results_[key], sequential.cv_results_[key], err_msg=key
            )
    np.testing.assert_array_equal(
        on_dask.decision_function(X), sequential.decision_function(X)
    )
    print(f"sequential {sequential_s:.1f} s, dask {dask_s:.1f} s")
