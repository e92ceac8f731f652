"""One-class ROC AUC of SkipGANomalyDetector's training options.

Each option of ``_common.TRAINING_OPTIONS`` (skip dropout; early stopping on the
ROC AUC of held-out training normals against synthetic anomalies made from
them) is fitted on exactly the splits, budget and seeds of
``bench_quality.py`` (same training and test images), with every other
parameter at its default. Per run: the ROC AUC of ``decision_function`` (the
default score), of the paper's score from the same fit, and the epochs trained.

The summary sets each option next to the default row and the PyOD peers of the
same runs, read from ``quality-cpu-runs`` (those trained with no option on;
``--baseline-commit`` reads them as they were at a commit), over the runs both
cover. The choice
between the default and the options is made without the test split of the data
set it is reported on: leave one data set out, pick the configuration with the
best mean over the other two, report it on the one left out.

Runs are cached one JSON file per run (``training-options-cpu-runs/<option>/``),
so an interrupted benchmark resumes. ``--summary-only`` rebuilds the summary.
``--smoke`` fits each option once with tiny settings in a temporary folder
(seconds; for CI).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess
import tempfile
import time

import numpy as np
import torch
from _common import (
    NO_TRAINING_OPTION,
    PEERS,
    TRAINING_OPTIONS,
    default_params,
    machine_info,
)
from bench_quality import (
    DATASETS,
    DEFAULT_DATA,
    FULL_BUDGET,
    HERE,
    RESULTS,
    SG_DEFAULT,
    SMOKE_BUDGET,
    load_data,
    make_skipganomaly,
    one_class_split,
    run_key,
)
from sklearn.metrics import roc_auc_score

DEFAULT_OUT = RESULTS / "training-options-cpu.json"
QUALITY_RUNS = RESULTS / "quality-cpu-runs"
# The default score with the paper's training: the quality runs without options.
BASELINE = "Skip-GANomaly, no training option"


def _slug(option):
    return re.sub(r"[^a-z0-9]+", "-", option.lower()).strip("-")


def _best_epoch(history):
    """The epoch early stopping kept, or None without early stopping."""
    best = [i + 1 for i, h in enumerate(history) if h.get("valid_synthetic_auc_best")]
    return best[-1] if best else None


def run_option(option, data, dataset, anomaly_class, seed, device, budget):
    X_tr, X_te, y_te, _ = one_class_split(data, anomaly_class, seed, budget)
    det = make_skipganomaly(seed, budget, device)
    det.set_params(**(NO_TRAINING_OPTION | TRAINING_OPTIONS[option]))
    start = time.perf_counter()
    det.fit(X_tr)
    fit_s = time.perf_counter() - start
    official = det.net_.predict(det._network_input(X_te)).astype(np.float64)
    history = det.history_
    return {
        "option": option,
        "dataset": dataset,
        "anomaly_class": int(anomaly_class),
        "seed": int(seed),
        "budget": budget,
        "auroc": {
            SG_DEFAULT: float(roc_auc_score(y_te, det.decision_function(X_te))),
            "paper's score": float(roc_auc_score(y_te, official)),
        },
        "epochs_trained": len(history),
        "best_epoch": _best_epoch(history),
        "valid_synthetic_auc": [h.get("valid_synthetic_auc") for h in history],
        "fit_s": fit_s,
        "default_params": default_params(det),
        "machine": machine_info(),
    }


def _without_options(run):
    """Whether a quality run trained with none of the training options on."""
    params = run["skipganomaly"]["default_params"]
    # Runs from before a parameter existed trained as its no-option value.
    return all(params.get(k, v) == v for k, v in NO_TRAINING_OPTION.items())


def load_option_runs(cache, budget):
    runs = {}
    for path in sorted(cache.glob("*/*.json")):
        run = json.loads(path.read_text())
        if run["budget"] == budget:
            runs.setdefault(run["option"], {})[path.stem] = run
    return runs


def baseline_runs(commit=None):
    """The quality runs trained with no option, by run key.

    From ``quality-cpu-runs`` as it is, or as it was at git ``commit`` (once
    the default itself trains with an option, its runs there are replaced).
    """
    if commit is None:
        texts = {p.stem: p.read_text() for p in QUALITY_RUNS.glob("*.json")}
    else:
        folder = QUALITY_RUNS.relative_to(HERE.parent).as_posix()
        git = ["git", "-C", str(HERE.parent)]
        names = subprocess.run(
            [*git, "ls-tree", "--name-only", commit, folder + "/"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        texts = {
            pathlib.PurePosixPath(name).stem: subprocess.run(
                [*git, "show", f"{commit}:{name}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for name in names
            if name.endswith(".json")
        }
    runs = {key: json.loads(text) for key, text in texts.items()}
    return {key: run for key, run in runs.items() if _without_options(run)}


def summarize(option_runs, quality):
    """Per data set: option, baseline and peers over the runs every option covers."""
    summary = {}
    for dataset in DATASETS:
        keys = set(k for k in quality if k.startswith(dataset + "-class"))
        for runs in option_runs.values():
            keys &= set(runs)
        keys = sorted(keys)
        if not keys:
            continue
        rows = {BASELINE: [quality[k]["auroc"][SG_DEFAULT] for k in keys]}
        for option, runs in option_runs.items():
            rows[f"Skip-GANomaly, {option}"] = [
                runs[k]["auroc"][SG_DEFAULT] for k in keys
            ]
        for peer in PEERS:
            rows[peer] = [quality[k]["auroc"][peer] for k in keys]
        summary[dataset] = {
            "n_runs": len(keys),
            "runs": keys,
            "seeds": sorted({quality[k]["seed"] for k in keys}),
            "classes": sorted({quality[k]["anomaly_class"] for k in keys}),
            "mean": {name: float(np.mean(v)) for name, v in rows.items()},
            "epochs_trained_mean": {
                option: float(np.mean([runs[k]["epochs_trained"] for k in keys]))
                for option, runs in option_runs.items()
            },
        }
    return summary


def leave_one_dataset_out(summary):
    """For each data set: the configuration chosen on the others, and its result."""
    configs = [
        name
        for name in next(iter(summary.values()))["mean"]
        if name.startswith("Skip-GANomaly")
    ]
    out = {}
    for held_out in summary:
        others = [d for d in summary if d != held_out]
        if not others:
            continue
        chosen = max(
            configs, key=lambda c: np.mean([summary[d]["mean"][c] for d in others])
        )
        out[held_out] = {
            "chosen_on": others,
            "chosen": chosen,
            "auroc": summary[held_out]["mean"][chosen],
            "baseline_auroc": summary[held_out]["mean"][BASELINE],
        }
    return out


def markdown(summary):
    names = list(next(iter(summary.values()))["mean"])
    lines = ["| mean ROC AUC | " + " | ".join(
        f"{d} ({s['n_runs']} runs, seeds {', '.join(map(str, s['seeds']))})"
        for d, s in summary.items()) + " |"]  # fmt: skip
    lines.append("|---|" + "---:|" * len(summary))
    for name in names:
        cells = [f"{s['mean'][name]:.3f}" for s in summary.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--options", nargs="+", choices=list(TRAINING_OPTIONS),
                        default=list(TRAINING_OPTIONS))  # fmt: skip
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=DATASETS)
    parser.add_argument("--classes", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--data-home", default=str(DEFAULT_DATA))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument(
        "--baseline-commit",
        default=None,
        help="read the runs without options from quality-cpu-runs at this commit",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny CI run")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    budget = FULL_BUDGET
    tmp = None
    if args.smoke:
        tmp = tempfile.TemporaryDirectory()
        budget, args.out = SMOKE_BUDGET, str(pathlib.Path(tmp.name) / "smoke.json")
        args.datasets, args.classes, args.seeds = ["digits"], [0], [0]
    out = pathlib.Path(args.out)
    cache = out.with_name(out.stem + "-runs")
    loaded = {}
    # Seed by seed, so that the runs finished first cover every data set.
    for seed in [] if args.summary_only else args.seeds:
        for dataset in args.datasets:
            for anomaly_class in args.classes:
                for option in args.options:
                    key = run_key(dataset, anomaly_class, seed)
                    path = cache / _slug(option) / f"{key}.json"
                    if path.exists():
                        continue
                    if dataset not in loaded:
                        loaded[dataset] = load_data(dataset, args.data_home)
                    run = run_option(option, loaded[dataset], dataset, anomaly_class,
                                     seed, args.device, budget)  # fmt: skip
                    path.parent.mkdir(parents=True, exist_ok=True)
                    partial = path.with_suffix(".tmp")
                    partial.write_text(json.dumps(run, indent=1))
                    partial.replace(path)
                    print(f"{option} {key} ({run['fit_s']:.0f} s, "
                          f"{run['epochs_trained']} epochs): "
                          f"{run['auroc'][SG_DEFAULT]:.3f}", flush=True)  # fmt: skip
    if args.smoke:
        runs = [r for option in load_option_runs(cache, budget).values()
                for r in option.values()]  # fmt: skip
        assert len(runs) == len(args.options), runs
        assert all(np.isfinite(list(r["auroc"].values())).all() for r in runs)
        tmp.cleanup()
        return runs
    quality = baseline_runs(args.baseline_commit)
    summary = summarize(load_option_runs(cache, budget), quality)
    if not summary:
        print("no runs yet")
        return None
    result = {
        "description": __doc__.split("\n\n")[0],
        "protocol": __doc__.split("\n\n")[1],
        "options": TRAINING_OPTIONS,
        "machine": machine_info(),
        "summary": summary,
        "baseline_runs": "quality-cpu-runs"
        + (f" at commit {args.baseline_commit}" if args.baseline_commit else ""),
        "leave_one_dataset_out": leave_one_dataset_out(summary),
    }
    out.write_text(json.dumps(result, indent=1))
    print(markdown(summary))
    print(json.dumps(result["leave_one_dataset_out"], indent=1))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
