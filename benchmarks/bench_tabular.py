"""ROC AUC of SkipGANomalyDetector on tables, next to PyOD's detectors.

Tables that need no download: scikit-learn's bundled breast cancer (benign rows
normal, malignant rows subsampled to 10 % as the anomalies), wine (classes 1 and 2
normal, 10 rows of class 0 as the anomalies), digits as 64 features (digit 0
subsampled to 5 % as the anomalies), and PyOD's ``generate_data`` (10 features)
and ``generate_data_clusters`` (4 clusters, 10 features), 10 % contamination.

Protocol, as PyOD's benchmarks: a stratified 60/40 split per seed, the features
standardised with the training part's statistics, every detector fitted on the
(contaminated) training part without labels and scored on the test part. The
peers run with PyOD's defaults (``bench_quality.make_peers``); Skip-GANomaly runs
with its defaults (only ``random_state`` and ``device`` set), and the paper's
score (``anomaly_score="official"``) is read from the same fit. The training
options of ``_common.TRAINING_OPTIONS``, and the paper's training without them,
are fitted on the same splits. Nothing is tuned on these tables.

``--smoke`` runs one table and seed with tiny settings (seconds; for CI).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
import warnings

import numpy as np
import torch
from _common import (
    NO_TRAINING_OPTION,
    PEERS,
    TRAINING_OPTIONS,
    default_params,
    machine_info,
    make_peers,
)
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._neighbors import FeatureNeighbours

HERE = pathlib.Path(__file__).parent
DEFAULT_OUT = HERE / "results" / "tabular-cpu.json"
SG_DEFAULT = "Skip-GANomaly default"
SG_OFFICIAL = "Skip-GANomaly official score"
TABLES = ("breast-cancer", "wine", "digits-64", "pyod-synthetic", "pyod-clusters")


def _subsample_anomalies(X, anomalous, share, seed):
    """All normal rows and ``share`` of all rows drawn from the anomalous ones."""
    rng = np.random.RandomState(seed)
    normal = np.flatnonzero(~anomalous)
    n_anomalies = round(share * len(normal) / (1 - share))
    picked = rng.choice(np.flatnonzero(anomalous), n_anomalies, replace=False)
    rows = np.sort(np.r_[normal, picked])
    return X[rows], anomalous[rows].astype(int)


def load_table(name, seed):
    """``(X, y)`` with ``y = 1`` for the anomalies."""
    if name == "breast-cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return _subsample_anomalies(X, y == 0, 0.1, seed)  # 0 = malignant
    if name == "wine":
        X, y = load_wine(return_X_y=True)
        anomalous = y == 0
        return _subsample_anomalies(X, anomalous, 10 / (np.sum(~anomalous) + 10), seed)
    if name == "digits-64":
        X, y = load_digits(return_X_y=True)
        return _subsample_anomalies(X, y == 0, 0.05, seed)
    from pyod.utils.data import generate_data, generate_data_clusters

    if name == "pyod-synthetic":
        X, _, y, _ = generate_data(
            n_train=1000, n_test=1, n_features=10, contamination=0.1, random_state=seed
        )
        return X, y.astype(int)
    X, _, y, _ = generate_data_clusters(
        n_train=1000, n_test=1, n_clusters=4, n_features=10, contamination=0.1,
        random_state=seed,
    )  # fmt: skip
    return X, y.astype(int)


def run_one(name, seed, *, smoke=False):
    X, y = load_table(name, seed)
    X_tr, X_te, _, y_te = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    auroc, seconds = {}, {}
    params = {"random_state": seed, "device": "cpu"}
    if smoke:
        params |= {"epochs": 1, "width": 8}
    start = time.perf_counter()
    det = SkipGANomalyDetector(**params).fit(X_tr)
    auroc[SG_DEFAULT] = float(roc_auc_score(y_te, det.decision_function(X_te)))
    network_input = det._network_input(X_te)
    official = det.net_.predict(network_input).astype(np.float64)
    auroc[SG_OFFICIAL] = float(roc_auc_score(y_te, official))
    # The same neighbour score on one discriminator: the first epoch's, the last.
    for label, epoch in (("first", 1), ("last", None)):
        reference = det.net_.discriminator_features(
            det._network_input(X_tr), epoch=epoch
        )
        one = FeatureNeighbours("knn+lof", det.n_neighbors).fit(reference)
        features = det.net_.discriminator_features(network_input, epoch=epoch)
        auroc[f"Skip-GANomaly, knn+lof on the {label} epoch"] = float(
            roc_auc_score(y_te, one.score(features))
        )
    seconds[SG_DEFAULT] = time.perf_counter() - start
    # The training options on top of the paper's training, and that alone.
    for option, option_params in {"no training option": {}, **TRAINING_OPTIONS}.items():
        trained = SkipGANomalyDetector(**params, **(NO_TRAINING_OPTION | option_params))
        if trained.get_params() == det.get_params():
            # The option is the default: its fit is the one above.
            auroc[f"Skip-GANomaly, {option}"] = auroc[SG_DEFAULT]
            continue
        auroc[f"Skip-GANomaly, {option}"] = float(
            roc_auc_score(y_te, trained.fit(X_tr).decision_function(X_te))
        )
    budget = {"peer_epochs": 1 if smoke else None}
    for peer, detector in make_peers(X_tr.shape[1], seed, budget).items():
        np.random.seed(seed)  # noqa: NPY002  (DeepSVDD shuffles with it)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            detector.fit(X_tr.astype(np.float32))
            scores = detector.decision_function(X_te.astype(np.float32))
        seconds[peer] = time.perf_counter() - start
        auroc[peer] = float(roc_auc_score(y_te, scores))
    return {
        "table": name,
        "seed": seed,
        "sizes": {
            "n_train": len(X_tr),
            "n_test": len(X_te),
            "n_features": X.shape[1],
            "test_anomalies": int(y_te.sum()),
        },
        "auroc": auroc,
        "fit_score_s": seconds,
        "default_params": default_params(det),
    }


def summarize(runs):
    names = list(runs[0]["auroc"])
    per_table = {
        t: {n: float(np.mean([r["auroc"][n] for r in runs if r["table"] == t]))
            for n in names}
        for t in sorted({r["table"] for r in runs})
    }  # fmt: skip
    mean = {n: float(np.mean([row[n] for row in per_table.values()])) for n in names}
    median_peer = float(np.median([mean[p] for p in PEERS]))
    ranked = sorted([SG_DEFAULT, *PEERS], key=mean.get, reverse=True)
    return {
        "mean_over_tables": mean,
        "per_table": per_table,
        "median_peer": median_peer,
        "default_at_or_above_median_peer": mean[SG_DEFAULT] >= median_peer,
        "default_rank": ranked.index(SG_DEFAULT) + 1,
        "n_ranked": len(ranked),
    }


def markdown(summary):
    names = list(summary["mean_over_tables"])
    tables = list(summary["per_table"])
    lines = ["| detector | " + " | ".join(tables) + " | mean |"]
    lines.append("|---|" + "---:|" * (len(tables) + 1))
    for n in names:
        cells = [f"{summary['per_table'][t][n]:.3f}" for t in tables]
        cells.append(f"{summary['mean_over_tables'][n]:.3f}")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="+", choices=TABLES, default=TABLES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="'-' prints it")
    parser.add_argument("--smoke", action="store_true", help="tiny CI run")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.smoke:
        args.tables, args.seeds, args.out = ["wine"], [0], "-"
    start = time.perf_counter()
    runs = []
    for name in args.tables:
        for seed in args.seeds:
            runs.append(run_one(name, seed, smoke=args.smoke))
            shown = ", ".join(f"{k} {v:.3f}" for k, v in runs[-1]["auroc"].items())
            print(f"{name} seed {seed}: {shown}", flush=True)
    summary = summarize(runs)
    result = {
        "description": __doc__.split("\n\n")[0],
        "protocol": __doc__.split("\n\n")[2],
        "machine": machine_info(),
        "wall_s": time.perf_counter() - start,
        "summary": summary,
        "runs": runs,
    }
    print(markdown(summary))
    if args.out == "-":
        print(json.dumps(summary, indent=1))
    else:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=1, default=str))
        print(f"wrote {args.out}")
    for run in runs:
        assert all(0.0 <= v <= 1.0 for v in run["auroc"].values()), run["auroc"]
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
