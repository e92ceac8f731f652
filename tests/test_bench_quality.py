"""The quality benchmark's smoke mode runs end to end and checks itself."""

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

BENCH = pathlib.Path(__file__).parents[1] / "benchmarks" / "bench_quality.py"


@pytest.fixture(scope="module")
def bench_quality():
    spec = importlib.util.spec_from_file_location("bench_quality", BENCH)
    module = importlib.util.module_from_spec(spec)
    # It imports its sibling benchmark modules by name.
    sys.path.insert(0, str(BENCH.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH.parent))
    return module


def test_smoke_mode(bench_quality, single_thread, capsys):
    # --smoke asserts itself that every AUC is in [0, 1] and that the official
    # per-epoch scoring leaves the clean scores bit for bit unchanged, and that
    # the default's AUC is that of the candidate computed from the snapshots.
    result = bench_quality.main(["--smoke"])
    assert "isolation check passed" in capsys.readouterr().out
    (run,) = result["runs"]
    assert set(run["auroc"]) == {
        *bench_quality.COMPARED,
        bench_quality.SG_OFFICIAL_LAST,
    }
    epochs = bench_quality.SMOKE_BUDGET["epochs"]
    assert len(run["skipganomaly"]["official_auc_per_epoch"]) == epochs
    candidates = run["skipganomaly"]["candidates"]
    assert {f"knn5+lof5 D e{e}" for e in range(1, epochs + 1)} <= set(candidates)
    digits = result["summary"]["digits"]
    assert digits["classes"] == [1]
    assert np.isfinite(digits["mean_over_classes"]["KNN"]["mean"])


def test_ordered_sample_keeps_protocol_order(bench_quality):
    y = np.r_[np.zeros(60, int), np.ones(40, int)]
    keep = bench_quality._ordered_sample(y, 20, np.random.RandomState(0))
    assert np.all(np.diff(keep) > 0)
    assert y[keep].tolist() == [0] * 12 + [1] * 8
