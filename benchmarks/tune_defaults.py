"""Tune SkipGANomalyDetector's defaults with GridSearchCV, on training data only.

For each data set and anomaly class, a labelled tuning set is drawn from the
*training* split (the test split is never read): ``--n-normal`` images of the
normal classes and ``--n-anomalies`` of the anomaly class. ``GridSearchCV`` with
``scoring="roc_auc"`` and ``cv=OneClassSplit(StratifiedShuffleSplit(1))`` fits
each candidate on the normal two thirds of the set's training part (anomalies
removed, as a one-class detector assumes) and scores the held-out third, normal
and anomalous. With the defaults the training part holds 1,000 normal images,
the training budget of ``bench_quality.py``, whose width and batch size are used
here too.

The grid stays within the faithful model: training length (``epochs``) and the
score's weight of the pixel error (``score_weight``, the paper's lambda); other
grids (``--grid``), e.g. network width and loss weights. The summary is each
candidate's mean validation AUC per data set and over all tuned classes;
``benchmarks/README.md`` says what was concluded from it. Per-class
``cv_results_`` are cached next to ``--out`` so an interrupted run resumes.

Usage::

    python benchmarks/tune_defaults.py --n-jobs 2
    python benchmarks/tune_defaults.py --n-jobs 2 --out results/tuning-width-cpu.json \
        --grid '{"width": [32, 64], "contextual_weight": [50.0, 10.0]}'
    python benchmarks/tune_defaults.py --smoke --out -
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time

import numpy as np
import torch
from _common import machine_info
from bench_quality import DEFAULT_DATA, FULL_BUDGET, load_data
from sklearn.model_selection import GridSearchCV, StratifiedShuffleSplit

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly.model_selection import OneClassSplit

HERE = pathlib.Path(__file__).parent
DEFAULT_OUT = HERE / "results" / "tuning-cpu.json"
GRID = {"epochs": [15, 30], "score_weight": [0.9, 0.1]}
SMOKE_GRID = {"epochs": [1], "score_weight": [0.9, 0.1]}


def tuning_set(data, anomaly_class, n_normal, n_anomalies, seed):
    """Labelled images from the training split: y = 1 for the anomaly class."""
    X, y = data[0], data[1]
    rng = np.random.RandomState([seed, anomaly_class, 2])
    normal = rng.choice(np.flatnonzero(y != anomaly_class), n_normal, replace=False)
    anomalous = rng.choice(
        np.flatnonzero(y == anomaly_class), n_anomalies, replace=False
    )
    rows = np.concatenate([normal, anomalous])
    return X[rows], np.r_[np.zeros(n_normal), np.ones(n_anomalies)].astype(int)


def tune_class(data, anomaly_class, args, grid):
    X, y = tuning_set(data, anomaly_class, args.n_normal, args.n_anomalies, args.seed)
    search = GridSearchCV(
        SkipGANomalyDetector(
            width=args.width,
            batch_size=args.batch_size,
            device=args.device,
            random_state=args.seed,
        ),
        grid,
        scoring="roc_auc",
        cv=OneClassSplit(
            StratifiedShuffleSplit(n_splits=1, test_size=1 / 3, random_state=args.seed)
        ),
        n_jobs=args.n_jobs,
        refit=False,
    )
    start = time.perf_counter()
    search.fit(X, y)
    results = search.cv_results_
    return {
        "params": [dict(p) for p in results["params"]],
        "validation_auc": results["mean_test_score"].tolist(),
        "fit_s": results["mean_fit_time"].tolist(),
        "wall_s": time.perf_counter() - start,
    }


def summarize(runs):
    """Mean validation AUC of each candidate, per data set and over all runs."""
    params = next(iter(runs.values()))["params"]
    by_dataset = {}
    for key, run in runs.items():
        by_dataset.setdefault(key.split(":")[0], []).append(run["validation_auc"])
    table = []
    for i, candidate in enumerate(params):
        row = {"params": candidate}
        for dataset, aucs in by_dataset.items():
            row[dataset] = float(np.mean([a[i] for a in aucs]))
        row["all"] = float(np.mean([run["validation_auc"][i] for run in runs.values()]))
        table.append(row)
    best = max(table, key=lambda row: row["all"])
    return {"candidates": table, "best": best["params"]}


def markdown(summary):
    names = list(summary["candidates"][0]["params"])
    datasets = [k for k in summary["candidates"][0] if k not in ("params", "all")]
    lines = [
        "| " + " | ".join([*names, *datasets, "mean"]) + " |",
        "|" + "---|" * (len(names) + len(datasets) + 1),
    ]
    for row in summary["candidates"]:
        cells = [str(row["params"][name]) for name in names]
        cells += [f"{row[d]:.3f}" for d in (*datasets, "all")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    parser.add_argument("--classes", nargs="+", type=int, default=[0, 4, 8])
    parser.add_argument("--n-normal", type=int, default=1500)
    parser.add_argument("--n-anomalies", type=int, default=150)
    parser.add_argument("--width", type=int, default=FULL_BUDGET["width"])
    parser.add_argument("--batch-size", type=int, default=FULL_BUDGET["batch_size"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-home", default=str(DEFAULT_DATA))
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON; '-' prints it")
    parser.add_argument(
        "--grid", type=json.loads, default=GRID, help=f"JSON, default {GRID}"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny CI run")
    args = parser.parse_args(argv)
    grid = args.grid
    if args.smoke:
        args.datasets, args.classes = ["digits"], [1]
        args.n_normal, args.n_anomalies, args.width = 90, 15, 4
        grid = SMOKE_GRID
    torch.set_num_threads(args.threads)

    tmp = tempfile.TemporaryDirectory() if args.smoke or args.out == "-" else None
    out = pathlib.Path(args.out)
    cache = pathlib.Path(tmp.name) if tmp else out.with_name(out.stem + "-runs")
    cache.mkdir(parents=True, exist_ok=True)
    runs = {}
    for dataset in args.datasets:
        data = load_data(dataset, args.data_home)
        for anomaly_class in args.classes:
            key = f"{dataset}:{anomaly_class}"
            path = cache / f"{dataset}-{anomaly_class}.json"
            if path.exists():
                runs[key] = json.loads(path.read_text())
                continue
            runs[key] = tune_class(data, anomaly_class, args, grid)
            path.write_text(json.dumps(runs[key], indent=1) + "\n")
            best = int(np.argmax(runs[key]["validation_auc"]))
            print(
                f"{key}: best {runs[key]['params'][best]} "
                f"AUC {runs[key]['validation_auc'][best]:.3f} "
                f"({runs[key]['wall_s']:.0f} s)",
                flush=True,
            )
    summary = summarize(runs)
    print(markdown(summary))
    result = {
        "description": __doc__.split("\n\n")[0],
        "machine": machine_info(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "grid")},
        "grid": grid,
        "summary": summary,
        "runs": runs,
    }
    text = json.dumps(result, indent=1)
    if args.out == "-" or args.smoke:
        print(text)
    else:
        out.write_text(text + "\n")
        print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
