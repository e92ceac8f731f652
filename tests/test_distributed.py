"""Data-parallel training: 2 CPU processes, gloo on 127.0.0.1.

Each test starts one process group of two processes (``torch.multiprocessing``
spawn, a free loopback port) in which every process fits the same data with
``batch_size`` the global batch, and compares with fits in the test process.

Tolerance: per-epoch losses and anomaly scores must match the single-process run
to ``RTOL = 1e-5``. The data-parallel step computes the same sums in another
order (two half-batch gradients averaged; BatchNorm statistics combined from two
halves), so float32 rounding differs; over these runs the largest relative
difference measured was about 1e-7, a hundredth of the tolerance. Weights must
match to ``WEIGHT_ATOL = 2e-5``, a tenth of one Adam step (lr = 2e-4): Adam
divides each gradient by its own running magnitude, so where a gradient is
nearly zero its rounding error shows as a visible part of a step (measured at
most 1.6e-6). Between the two processes everything must be bitwise equal.
"""

import contextlib
import datetime
import functools
import io
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._training._data import _Tensors
from sklearn_sganomaly._training._distributed import _ShardedBatches
from sklearn_sganomaly._training._net import _EPOCH_TERMS

pytestmark = pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(),
    reason="this torch build has no torch.distributed with the gloo backend",
)

WORLD = 2
RTOL = 1e-5
WEIGHT_ATOL = 2e-5
PARAMS = {"width": 4, "latent_dim": 8, "batch_size": 16, "device": "cpu"}
PARAMS |= {"precision": "fp32"}
# Each process cuts the skips of its own share of the batch, so only training
# without skip dropout can equal a single-process run number for number.
PARAMS |= {"skip_dropout": 0.0}
TERMS = ("train_loss", *_EPOCH_TERMS)


def table():
    return np.random.RandomState(1).normal(size=(64, 5))


def images():
    rng = np.random.RandomState(0)
    return rng.randint(0, 17, size=(48, 1, 8, 8)).astype(np.float32)


# The jobs run in every process of the group, and the reference fits in the test
# process; each returns what the test compares.


def fitted(detector, X):
    return {
        "history": np.array([[epoch[t] for t in TERMS] for epoch in detector.history_]),
        "d_reinits": [epoch["d_reinits"] for epoch in detector.history_],
        "scores": detector.decision_function(X),
        "state": {
            name: {k: v.clone() for k, v in module.state_dict().items()}
            for name, module in (
                ("generator", detector.net_.module_),
                ("discriminator", detector.net_.discriminator_),
            )
        },
        "batchnorms": {
            type(m).__name__
            for network in (detector.net_.module_, detector.net_.discriminator_)
            for m in network.modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
        },
    }


def fit_table():
    det = SkipGANomalyDetector(**PARAMS, epochs=2, random_state=0)
    return fitted(det.fit(table()), table())


def fit_table_skip_dropout():
    params = PARAMS | {"skip_dropout": 0.5}
    det = SkipGANomalyDetector(**params, epochs=2, random_state=0)
    return fitted(det.fit(table()), table())


def fit_images_d_first():
    det = SkipGANomalyDetector(**PARAMS, epochs=1, step_order="d_first", random_state=0)
    return fitted(det.fit(images()), images())


class _AlwaysReinit(SkipGANomalyDetector):
    """Re-initialises the discriminator after every step."""

    def _build_net(self, *args, **kwargs):
        return (
            super()
            ._build_net(*args, **kwargs)
            .set_params(reinit_threshold=float("inf"))
        )


def fit_unseeded_reinit():
    # random_state=None: each process draws its own seed, so its own initial
    # weights, shuffling and re-initialisations, unless the processes agree.
    det = _AlwaysReinit(**PARAMS, epochs=1, random_state=None)
    return fitted(det.fit(table()), table())


def errors():
    found = {}
    det = SkipGANomalyDetector(**(PARAMS | {"batch_size": 15}), epochs=1)
    try:
        det.fit(table())
    except ValueError as exc:
        found["batch_size"] = str(exc)
    # The same rows in another order: the same scaling, a different dataset.
    X = table()[::-1] if dist.get_rank() else table()
    try:
        SkipGANomalyDetector(**PARAMS, epochs=1).fit(X)
    except ValueError as exc:
        found["data"] = str(exc)
    return found


def shards():
    # Each process seeds its own generator: the shares must follow process 0's.
    generator = torch.Generator().manual_seed(dist.get_rank())
    batches = _ShardedBatches(
        _Tensors(torch.arange(11)), batch_size=4, shuffle=True, generator=generator
    )
    return [x.tolist() for x, _ in batches]


def fit_memmap_with_validation(path):
    # Rows read from disk batch by batch, and early stopping on a held-out part.
    X = np.load(path, mmap_mode="r")
    det = SkipGANomalyDetector(
        **PARAMS, epochs=3, validation_fraction=0.25, n_iter_no_change=1, random_state=0
    )
    result = fitted(det.fit(X), np.asarray(X))
    result["valid_loss"] = [epoch["valid_loss"] for epoch in det.history_]
    return result


def report_and_checkpoint(dirname):
    output = io.StringIO()
    det = SkipGANomalyDetector(
        **PARAMS, epochs=1, verbose=1, checkpoint_dir=str(dirname), random_state=0
    )
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        det.fit(table())
    return {
        "output": output.getvalue(),
        "callbacks": {name for name, _ in det.net_.callbacks_},
    }


def _process(rank, port, out, jobs):
    torch.set_num_threads(1)  # two processes on a shared 2-core machine
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD,
        timeout=datetime.timedelta(seconds=120),
    )
    try:
        results = {name: job() for name, job in jobs.items()}
    finally:
        dist.destroy_process_group()
    torch.save(results, out / f"{rank}.pt")


def run_group(tmp_path, jobs):
    """Run ``jobs`` (name: callable) in a 2-process gloo group.

    Returns their results, one dict per process.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_process, args=(port, tmp_path, jobs), nprocs=WORLD)
    return [torch.load(tmp_path / f"{r}.pt", weights_only=False) for r in range(WORLD)]


def assert_ranks_equal(results):
    first, *others = results
    for other in others:
        np.testing.assert_array_equal(other["history"], first["history"])
        np.testing.assert_array_equal(other["scores"], first["scores"])
        for name, state in first["state"].items():
            for key, value in state.items():
                assert torch.equal(other["state"][name][key], value), (name, key)


def assert_matches_single_process(parallel, single):
    np.testing.assert_allclose(parallel["history"], single["history"], rtol=RTOL)
    # The default scores are sums of z-scores, some near 0, of float32 image
    # features divided by the references' small spread: relative tolerance
    # alone would ask for more than float32 training and features agree to.
    np.testing.assert_allclose(
        parallel["scores"], single["scores"], rtol=RTOL, atol=1e-4
    )
    for name, state in single["state"].items():
        assert state.keys() == parallel["state"][name].keys()
        for key, value in state.items():
            np.testing.assert_allclose(
                parallel["state"][name][key].double(),
                value.double(),
                rtol=0,
                atol=WEIGHT_ATOL,
                err_msg=f"{name}.{key}",
            )


def test_two_processes_train_like_one(tmp_path, single_thread):
    jobs = [fit_table, fit_images_d_first, fit_unseeded_reinit, errors, shards]
    jobs.append(fit_table_skip_dropout)
    jobs = {job.__name__: job for job in jobs}
    jobs["report"] = functools.partial(report_and_checkpoint, tmp_path / "checkpoints")
    results = run_group(tmp_path, jobs)

    for job in (fit_table, fit_images_d_first):
        ranks = [r[job.__name__] for r in results]
        assert_ranks_equal(ranks)
        single = job()
        assert_matches_single_process(ranks[0], single)
        single_names = single["batchnorms"]
        # Plain BatchNorm again after fit, as in a single-process model.
        assert ranks[0]["batchnorms"] == single_names

    # With skip dropout the processes end with one model, a trained one.
    cut = [r["fit_table_skip_dropout"] for r in results]
    assert_ranks_equal(cut)
    assert np.all(np.isfinite(cut[0]["scores"]))
    assert not np.allclose(cut[0]["history"], results[0]["fit_table"]["history"])

    # Without a shared seed, the processes still end with the same model.
    unseeded = [r["fit_unseeded_reinit"] for r in results]
    assert unseeded[0]["d_reinits"][0] > 0
    assert_ranks_equal(unseeded)

    for r in results:
        assert "divisible by the number of processes (2)" in r["errors"]["batch_size"]
        assert "same X in every process" in r["errors"]["data"]

    # One process shows progress and writes checkpoints; the other stays quiet
    # instead of printing the same lines and writing the same files at once.
    main, other = (r["report"] for r in results)
    assert "train_loss" in main["output"]
    assert {"progress_bar", "checkpoint"} <= main["callbacks"]
    assert other["output"] == ""
    assert not {"progress_bar", "checkpoint"} & other["callbacks"]
    assert (tmp_path / "checkpoints" / "generator.pt").exists()

    # 11 rows, global batches of 4, 4 and 3: equal, disjoint shares of each, in
    # process 0's order; the odd row of the last batch is left out.
    order = torch.randperm(11, generator=torch.Generator().manual_seed(0)).tolist()
    expected = [
        [order[0:2], order[4:6], order[8:9]],
        [order[2:4], order[6:8], order[9:10]],
    ]
    assert [r["shards"] for r in results] == expected


@pytest.mark.slow
def test_two_processes_stream_a_memmap_and_stop_early_like_one(tmp_path, single_thread):
    path = tmp_path / "images.npy"
    np.save(path, (images() * 15).astype(np.uint8))
    job = functools.partial(fit_memmap_with_validation, path)
    ranks = [r["memmap"] for r in run_group(tmp_path, {"memmap": job})]
    assert_ranks_equal(ranks)
    single = job()
    assert_matches_single_process(ranks[0], single)
    np.testing.assert_allclose(ranks[0]["valid_loss"], single["valid_loss"], rtol=RTOL)
