"""One-class ROC AUC of SkipGANomalyDetector and PyOD's detectors, on the same splits.

Protocol (spec ``skip-ganomaly.md`` section 2.2, through
``sklearn_sganomaly.datasets.make_one_class_split(protocol="official")``): each
class in turn is the anomaly; the detectors train on the other classes' training
images; the test set is those classes' test images, followed by the anomaly
class's training images, followed by its test images.

Data sets: MNIST and Fashion-MNIST (read from ``$SKLEARN_SGANOMALY_DATA`` or
``../shared/datasets``, never downloaded) and scikit-learn's bundled 8x8 digits,
which has no test split of its own and is split 75/25, stratified, per seed.

Detectors: ``SkipGANomalyDetector`` and PyOD's IForest, LOF, KNN, PCA,
AutoEncoder and DeepSVDD with their default settings (plus a seed, and no
progress output), on the flattened pixels. All detectors of one run see the same
training and test images.

Two evaluation modes of Skip-GANomaly, from one fit:

- **clean**: ``decision_function`` of the fitted detector: BatchNorm in eval mode,
  each sample scored on its own, the model after the last epoch.
- **official**: what the official code reports (spec sections 7.3 and 7.4): after
  every epoch the ordered test set (normal first) is scored in batches of
  ``batch_size`` with BatchNorm in train mode, i.e. normalised with the
  statistics of each test batch, and the best AUC over the epochs is kept. It
  selects the model on the test set, so it is not a fair comparison; it is
  reported to show how much that protocol inflates the numbers. The AUC of the
  last epoch under the same scoring is recorded too.

Train-mode BatchNorm forwards move the running statistics, so the networks'
state is saved before the per-epoch scoring and restored after it: the clean
result is exactly that of a fit without the official scoring (``--smoke``
checks this bit for bit).

CPU budget: the full protocol trains on 54,000 images per class, which is far
beyond a 2-core CPU for 20 classes. The budget (``--n-train``, ``--n-test``,
``--width``, ``--epochs``) is fixed in advance, applied to every detector alike,
and stored with the results. The training normals are a uniform random sample;
the test set is a sample of each of its two parts (normal, anomalous) in
proportion, keeping the order of the protocol. Nothing is tuned on the test set.

Each run (data set, anomaly class, seed) is cached as a JSON file in a folder
next to ``--out``; a rerun with the same budget skips the runs already there, so
an interrupted benchmark resumes where it stopped. The summary JSON, the
markdown tables (``--markdown``) and the bar plot (``--plot``, needs
matplotlib) are built from all cached runs of the budget.

``--smoke`` runs one digits class with tiny settings in a temporary folder
(seconds; for CI): it checks that every detector gives a finite AUC and that the
official scoring leaves the clean result unchanged.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import pathlib
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
from bench_speed import machine_info
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._validation import flatten_images, to_network_input
from sklearn_sganomaly.datasets import (
    load_fashion_mnist,
    load_mnist,
    make_one_class_split,
)

HERE = pathlib.Path(__file__).parent
RESULTS = HERE / "results"
DEFAULT_OUT = RESULTS / "quality-cpu.json"
DEFAULT_DATA = HERE.parent.parent / "shared" / "datasets"

DATASETS = ("digits", "mnist", "fashion-mnist")
DATASET_TITLES = {
    "digits": "digits (sklearn, 8x8)",
    "mnist": "MNIST",
    "fashion-mnist": "Fashion-MNIST",
}
CLASS_NAMES = {
    "fashion-mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}  # fmt: skip

SG_CLEAN = "Skip-GANomaly clean"
SG_OFFICIAL = "Skip-GANomaly official"
SG_OFFICIAL_LAST = "Skip-GANomaly official, last epoch"
PEERS = ("IForest", "LOF", "KNN", "PCA", "AutoEncoder", "DeepSVDD")
# Columns of the tables and the plot; the official last-epoch AUC stays in the
# JSON and the mean table, where it separates the effect of BatchNorm from that
# of picking the best epoch.
COMPARED = (SG_CLEAN, SG_OFFICIAL, *PEERS)

FULL_BUDGET = {
    "n_train": 1000,
    "n_test": 1000,
    "width": 32,
    "epochs": 15,
    "batch_size": 64,
    "peer_epochs": None,  # PyOD's defaults: AutoEncoder 10, DeepSVDD 100
}
SMOKE_BUDGET = {
    "n_train": 200,
    "n_test": 150,
    "width": 4,
    "epochs": 1,
    "batch_size": 64,
    "peer_epochs": 1,
}


# ---------------------------------------------------------------------------
# Data


def load_data(name, data_home):
    """Return ``(X, y, X_test, y_test)``; the test pair is None for digits."""
    if name == "digits":
        digits = load_digits()
        return digits.images[:, np.newaxis], digits.target, None, None
    loader = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}[name]
    X, y = loader(data_home, subset="train")
    X_test, y_test = loader(data_home, subset="test")
    return X, y, X_test, y_test


def one_class_split(data, anomaly_class, seed, budget):
    """The protocol's split, then the budget's subsample of it (same order)."""
    X, y, X_test, y_test = data
    if X_test is None:
        X_tr, X_te, y_te = make_one_class_split(
            X, y, anomaly_class=anomaly_class, test_size=0.25, random_state=seed
        )
    else:
        X_tr, X_te, y_te = make_one_class_split(
            X, y, anomaly_class=anomaly_class, X_test=X_test, y_test=y_test
        )
    full = {"n_train": len(X_tr), "n_test": len(X_te), "n_anomalies": int(y_te.sum())}
    # A generator of its own per split, so the sample does not depend on which
    # runs came before it in the same process.
    rng = np.random.RandomState([seed, anomaly_class, 1])
    if budget["n_train"] is not None and len(X_tr) > budget["n_train"]:
        X_tr = X_tr[rng.choice(len(X_tr), budget["n_train"], replace=False)]
    if budget["n_test"] is not None and len(X_te) > budget["n_test"]:
        keep = _ordered_sample(y_te, budget["n_test"], rng)
        X_te, y_te = X_te[keep], y_te[keep]
    return X_tr, X_te, y_te, full


def _ordered_sample(y, n, rng):
    """Indices of ``n`` samples, normal and anomalous in proportion, in order."""
    normal, anomalous = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    n_normal = round(n * len(normal) / len(y))
    picked = np.concatenate(
        [
            rng.choice(normal, n_normal, replace=False),
            rng.choice(anomalous, n - n_normal, replace=False),
        ]
    )
    # Sorting keeps the protocol's order: the official scoring batches the test
    # set as it comes, and its BatchNorm statistics depend on that order.
    return np.sort(picked)


def network_input_as_fit(X_train, X_test):
    """``X_test`` as ``fit`` will feed it to the networks, scaled by the train set.

    Mirrors ``SkipGANomalyDetector.fit`` for the uint8 and float64 images used
    here (it keeps those dtypes): one global min and range of the training
    images, then ``to_network_input``. The benchmark asserts after each fit that
    the detector learned the same min and range.
    """
    train_2d, _ = flatten_images(X_train)
    test_2d, image_shape = flatten_images(X_test)
    data_min = np.float64(train_2d.min())
    data_range = np.float64(train_2d.max()) - data_min
    data_range = data_range if data_range > 0 else np.float64(1.0)
    X_net = to_network_input(
        test_2d, image_shape=image_shape, data_min=data_min, data_range=data_range
    )
    return X_net, data_min, data_range


# ---------------------------------------------------------------------------
# The official evaluation, as a skorch callback


def official_scores(net, X_net, training=True):
    """Scores of the official evaluation: train-mode BatchNorm, ordered batches.

    ``net.forward(X, training=True)`` is not used: it draws batches from the
    training iterator, which shuffles (advancing the training shuffle
    generator), drops the last batch and keeps the autograd graph. With
    ``training=False`` the same loop gives the clean (eval-mode) scores.
    """
    modules = (net.module_, net.discriminator_)
    for module in modules:
        module.train(training)
    scores = []
    with torch.no_grad():
        for start in range(0, len(X_net), net.batch_size):
            x = torch.from_numpy(X_net[start : start + net.batch_size])
            scores.append(net.score(x.to(net.device)).float().cpu().numpy())
    return np.concatenate(scores).astype(np.float64)


class OfficialEvaluation(Callback):
    """After every epoch, record the official-protocol test AUC in the history.

    The AUC goes to ``history[:, "official_auc"]`` (not to an attribute: the
    detector clones its callbacks at fit). The networks' state, including the
    BatchNorm running statistics that train-mode forwards move, is restored
    afterwards, so training and the clean scores are unaffected.

    Parameters
    ----------
    X_net : ndarray
        The test set in network form (``network_input_as_fit``), in protocol
        order.
    y : ndarray
        Its labels, 1 = anomaly.
    verbose : bool, default=False
        Print one line per epoch, so a long benchmark can be followed.
    diagnostic : bool, default=False
        Also record, per epoch, the AUC of the clean scoring (``eval_auc``)
        and of train-mode BatchNorm on a shuffled test set
        (``shuffled_train_auc``), to tell the effect of the test order from
        that of the BatchNorm mode.
    """

    def __init__(self, X_net, y, verbose=False, diagnostic=False):
        self.X_net = X_net
        self.y = y
        self.verbose = verbose
        self.diagnostic = diagnostic

    def on_epoch_end(self, net, **kwargs):
        start = time.perf_counter()
        modules = (net.module_, net.discriminator_)
        saved = [(copy.deepcopy(m.state_dict()), m.training) for m in modules]

        def restore():
            for module, (state, training) in zip(modules, saved, strict=True):
                module.load_state_dict(state)
                module.train(training)

        try:
            auc = _auc(self.y, official_scores(net, self.X_net))
            if self.diagnostic:
                restore()
                rng = np.random.RandomState(len(net.history))
                order = rng.permutation(len(self.y))
                shuffled = official_scores(net, self.X_net[order])
                net.history.record("shuffled_train_auc", _auc(self.y[order], shuffled))
                restore()
                clean = official_scores(net, self.X_net, training=False)
                net.history.record("eval_auc", _auc(self.y, clean))
        finally:
            restore()
        seconds = time.perf_counter() - start
        net.history.record("official_auc", auc)
        net.history.record("official_eval_s", seconds)
        if self.verbose:
            print(
                f"  epoch {len(net.history)}: train {net.history[-1, 'dur']:.0f} s, "
                f"official AUC {_fmt(auc)} ({seconds:.0f} s)",
                flush=True,
            )


def _auc(y, scores):
    return float(roc_auc_score(y, scores)) if np.all(np.isfinite(scores)) else None


# ---------------------------------------------------------------------------
# Detectors


def make_skipganomaly(seed, budget, device, callbacks=None):
    params = {
        "epochs": budget["epochs"],
        "batch_size": budget["batch_size"],
        "width": budget["width"],
        "random_state": seed,
        "device": device,
    }
    if callbacks is not None:
        params["callbacks"] = callbacks
    return SkipGANomalyDetector(**params)


def run_skipganomaly(X_tr, X_te, y_te, seed, budget, device, verbose=False):
    if "callbacks" not in SkipGANomalyDetector().get_params():
        raise RuntimeError(
            "The official evaluation mode needs SkipGANomalyDetector(callbacks=...)."
        )
    X_net, data_min, data_range = network_input_as_fit(X_tr, X_te)
    callback = OfficialEvaluation(X_net, y_te, verbose=verbose)
    det = make_skipganomaly(seed, budget, device, [("official_eval", callback)])
    start = time.perf_counter()
    det.fit(X_tr)
    fit_s = time.perf_counter() - start
    # The official scores are only comparable if they saw the inputs fit saw.
    assert np.float64(det.data_min_) == data_min, (det.data_min_, data_min)
    assert np.float64(det.data_range_) == data_range, (det.data_range_, data_range)
    start = time.perf_counter()
    clean_scores = det.decision_function(X_te)
    score_s = time.perf_counter() - start
    per_epoch = det.history_[:, "official_auc"]
    eval_s = float(np.sum(det.history_[:, "official_eval_s"]))
    finite = [a for a in per_epoch if a is not None]
    best = int(np.argmax([-1.0 if a is None else a for a in per_epoch]))
    return {
        "auroc": {
            SG_CLEAN: float(roc_auc_score(y_te, clean_scores)),
            SG_OFFICIAL: float(per_epoch[best]) if finite else None,
            SG_OFFICIAL_LAST: per_epoch[-1],
        },
        "official_auc_per_epoch": per_epoch,
        "official_best_epoch": best + 1,
        "fit_s": fit_s - eval_s,
        "official_eval_s": eval_s,
        "score_s": score_s,
        "d_reinits": int(np.sum(det.history_[:, "d_reinits"])),
    }, det


def make_peers(n_features, seed, budget):
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.deep_svdd import DeepSVDD
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN
    from pyod.models.lof import LOF
    from pyod.models.pca import PCA

    epochs = {}
    if budget["peer_epochs"] is not None:
        epochs = {"AutoEncoder": {"epoch_num": budget["peer_epochs"]}}
        epochs["DeepSVDD"] = {"epochs": budget["peer_epochs"]}
    return {
        "IForest": IForest(random_state=seed),
        "LOF": LOF(),
        "KNN": KNN(),
        "PCA": PCA(random_state=seed),
        "AutoEncoder": AutoEncoder(
            random_state=seed,
            device="cpu",
            verbose=0,
            **epochs.get("AutoEncoder", {}),
        ),
        "DeepSVDD": DeepSVDD(
            n_features=n_features,
            random_state=seed,
            verbose=0,
            **epochs.get("DeepSVDD", {}),
        ),
    }


def run_peers(X_tr, X_te, y_te, seed, budget):
    train = X_tr.reshape(len(X_tr), -1).astype(np.float32)
    test = X_te.reshape(len(X_te), -1).astype(np.float32)
    out = {}
    for name, detector in make_peers(train.shape[1], seed, budget).items():
        # DeepSVDD shuffles with the global numpy state; seed it so runs repeat.
        np.random.seed(seed)  # noqa: NPY002
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            detector.fit(train)
            scores = detector.decision_function(test)
        seconds = time.perf_counter() - start
        finite = bool(np.all(np.isfinite(scores)))
        auc = float(roc_auc_score(y_te, scores)) if finite else None
        out[name] = {"auroc": auc, "fit_score_s": seconds}
    return out


# ---------------------------------------------------------------------------
# Runs, cache and summary


def run_key(dataset, anomaly_class, seed):
    return f"{dataset}-class{anomaly_class}-seed{seed}"


def run_one(dataset, data, anomaly_class, seed, budget, device, *, check=False):
    start = time.perf_counter()
    X_tr, X_te, y_te, full = one_class_split(data, anomaly_class, seed, budget)
    sg, det = run_skipganomaly(
        X_tr, X_te, y_te, seed, budget, device, verbose=not check
    )
    if check:
        check_isolation(det, X_tr, X_te, seed, budget, device)
    peers = run_peers(X_tr, X_te, y_te, seed, budget)
    auroc = sg.pop("auroc") | {k: v["auroc"] for k, v in peers.items()}
    return {
        "dataset": dataset,
        "anomaly_class": int(anomaly_class),
        "seed": int(seed),
        "budget": budget,
        "protocol_sizes": full,
        "sizes": {
            "n_train": len(X_tr),
            "n_test": len(X_te),
            "n_anomalies": int(y_te.sum()),
        },
        "auroc": auroc,
        "skipganomaly": sg,
        "peers": {k: {"fit_score_s": v["fit_score_s"]} for k, v in peers.items()},
        "wall_s": time.perf_counter() - start,
        "machine": machine_info(),
    }


def check_isolation(det, X_tr, X_te, seed, budget, device):
    """The official scoring must leave the clean scores bit for bit unchanged."""
    plain = make_skipganomaly(seed, budget, device).fit(X_tr)
    assert np.array_equal(det.decision_function(X_te), plain.decision_function(X_te)), (
        "the official per-epoch scoring changed the clean scores"
    )
    print("isolation check passed: the official scoring leaves clean scores as is")


BN_SCORINGS = {
    "eval_auc": "clean (eval BN)",
    "shuffled_train_auc": "train BN, shuffled",
    "official_auc": "official (train BN, ordered)",
}


def run_bn_diagnostic(specs, data_home, budget, device):
    """Per-epoch test AUC of one fit under three scorings, for each ``spec``.

    ``spec`` is ``"dataset:class"``; the split and seed are those of seed 0 of
    the benchmark, so the last epoch's clean AUC is the benchmark's.
    """
    out = []
    for spec in specs:
        dataset, anomaly_class = spec.split(":")
        anomaly_class = int(anomaly_class)
        start = time.perf_counter()
        data = load_data(dataset, data_home)
        X_tr, X_te, y_te, _ = one_class_split(data, anomaly_class, 0, budget)
        X_net, _, _ = network_input_as_fit(X_tr, X_te)
        callback = OfficialEvaluation(X_net, y_te, diagnostic=True)
        det = make_skipganomaly(0, budget, device, [("official_eval", callback)])
        det.fit(X_tr)
        clean = _auc(y_te, det.decision_function(X_te))
        per_epoch = {key: det.history_[:, key] for key in BN_SCORINGS}
        # The callback's eval-mode loop must score as decision_function does.
        assert abs(clean - per_epoch["eval_auc"][-1]) < 1e-6, clean
        out.append(
            {
                "dataset": dataset,
                "anomaly_class": anomaly_class,
                "seed": 0,
                "per_epoch_auc": per_epoch,
                "decision_function_auc": clean,
                "wall_s": time.perf_counter() - start,
            }
        )
        print(f"{spec}: clean AUC after the last epoch {clean:.3f}", flush=True)
    return out


def bn_markdown(diagnostic):
    """One row per run and scoring, one column per epoch."""
    n_epochs = len(diagnostic[0]["per_epoch_auc"]["official_auc"])
    header = ["anomaly class", "scoring", *map(str, range(1, n_epochs + 1))]
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|---|---|" + "---:|" * n_epochs)
    for run in diagnostic:
        name = f"{DATASET_TITLES[run['dataset']]} {run['anomaly_class']}"
        for key, label in BN_SCORINGS.items():
            cells = [f"{v:.2f}" if v is not None else "n/a"
                     for v in run["per_epoch_auc"][key]]  # fmt: skip
            lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_runs(cache, budget):
    runs = []
    for path in sorted(cache.glob("*.json")):
        run = json.loads(path.read_text())
        if run["budget"] == budget:
            runs.append(run)
    return runs


def _span_s(runs):
    """Wall-clock seconds from the start of the first run to the end of the last.

    Unlike the sum of the runs' times it includes the pauses of a resumed
    benchmark, so it bounds the elapsed time of an uninterrupted one.
    """
    if not runs:
        return None
    ends = [datetime.datetime.fromisoformat(r["machine"]["date"]) for r in runs]
    starts = [
        end - datetime.timedelta(seconds=run["wall_s"])
        for end, run in zip(ends, runs, strict=True)
    ]
    return (max(ends) - min(starts)).total_seconds()


def _mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None, 0
    std = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return float(np.mean(values)), std, len(values)


def summarize(runs):
    """Per data set: per-class mean +- std over seeds, and the mean over classes.

    The std of the mean over classes is taken over the seeds that cover every
    class of the data set, so that each seed's mean is over the same classes.
    """
    summary = {}
    for dataset in DATASETS:
        mine = [r for r in runs if r["dataset"] == dataset]
        if not mine:
            continue
        classes = sorted({r["anomaly_class"] for r in mine})
        seeds = sorted({r["seed"] for r in mine})
        names = [*COMPARED[:2], SG_OFFICIAL_LAST, *COMPARED[2:]]
        per_class = {}
        for c in classes:
            per_class[c] = {}
            for name in names:
                values = [r["auroc"][name] for r in mine if r["anomaly_class"] == c]
                mean, std, n = _mean_std(values)
                per_class[c][name] = {"mean": mean, "std": std, "n_seeds": n}
        complete = [
            s
            for s in seeds
            if {r["anomaly_class"] for r in mine if r["seed"] == s} == set(classes)
        ]
        overall = {}
        for name in names:
            class_means = [per_class[c][name]["mean"] for c in classes]
            mean = _mean_std(class_means)[0] if None not in class_means else None
            seed_means = [
                np.mean(
                    [r["auroc"][name] for r in mine if r["seed"] == s]
                )  # one value per class for a complete seed
                for s in complete
                if all(r["auroc"][name] is not None for r in mine if r["seed"] == s)
            ]
            std = _mean_std(seed_means)[1]
            overall[name] = {"mean": mean, "std_over_seeds": std}
        best_peer = max(PEERS, key=lambda p: overall[p]["mean"] or -1.0)
        summary[dataset] = {
            "classes": classes,
            "seeds": seeds,
            "seeds_covering_all_classes": complete,
            "n_runs": len(mine),
            "mean_over_classes": overall,
            "per_class": per_class,
            "best_peer": best_peer,
            "clean_beats_every_peer": (overall[SG_CLEAN]["mean"] or -1.0)
            > (overall[best_peer]["mean"] or -1.0),
        }
    return summary


def _fmt(mean, std=None):
    if mean is None:
        return "n/a"
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"


def markdown(summary):
    """The README tables, generated from the summary (no number typed by hand)."""
    lines = []
    datasets = [d for d in DATASETS if d in summary]
    names = [SG_CLEAN, SG_OFFICIAL, SG_OFFICIAL_LAST, *PEERS]
    titles = " | ".join(DATASET_TITLES[d] for d in datasets)
    lines.append(f"| detector | {titles} |")
    lines.append("|---|" + "---:|" * len(datasets))
    for name in names:
        cells = []
        for d in datasets:
            o = summary[d]["mean_over_classes"][name]
            cells.append(_fmt(o["mean"], o["std_over_seeds"]))
        label = f"**{name}**" if name == SG_CLEAN else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for d in datasets:
        s = summary[d]
        seeds = ", ".join(map(str, s["seeds"]))
        lines += ["", f"**{DATASET_TITLES[d]}**, AUROC per anomaly class "]
        lines[-1] += f"(seeds {seeds}" + (
            "; mean ± std over seeds)" if len(s["seeds"]) > 1 else ")"
        )
        lines += ["", "| anomaly class | " + " | ".join(COMPARED) + " |"]
        lines.append("|---|" + "---:|" * len(COMPARED))
        for c in s["classes"]:
            label = str(c)
            if d in CLASS_NAMES:
                label = f"{c} {CLASS_NAMES[d][c]}"
            row = s["per_class"][c]
            cells = [_fmt(row[n]["mean"], row[n]["std"]) for n in COMPARED]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = [d for d in DATASETS if d in summary]
    fig, axes = plt.subplots(
        len(datasets), 1, figsize=(12, 3.2 * len(datasets)), squeeze=False
    )
    width = 0.8 / len(COMPARED)
    colors = plt.get_cmap("tab10").colors
    for ax, d in zip(axes[:, 0], datasets, strict=True):
        s = summary[d]
        classes = s["classes"]
        x = np.arange(len(classes))
        for i, name in enumerate(COMPARED):
            rows = [s["per_class"][c] for c in classes]
            means = [r[name]["mean"] for r in rows]
            means = [np.nan if m is None else m for m in means]
            errs = [0.0 if r[name]["std"] is None else r[name]["std"] for r in rows]
            style = {"hatch": "//", "edgecolor": "white"} if name == SG_OFFICIAL else {}
            ax.bar(
                x + (i - (len(COMPARED) - 1) / 2) * width,
                means,
                width,
                yerr=errs if any(errs) else None,
                label=name,
                color=colors[i % len(colors)],
                **style,
            )
        labels = [
            f"{c}\n{CLASS_NAMES[d][c]}" if d in CLASS_NAMES else str(c) for c in classes
        ]
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_ylim(0, 1)
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.set_ylabel("ROC AUC")
        ax.set_title(f"{DATASET_TITLES[d]}: anomaly class", fontsize=10)
    # Above the panels: inside, the legend would hide bars of some class.
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=DATASETS)
    parser.add_argument("--classes", nargs="+", type=int, default=list(range(10)))
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=[0], help="MNIST and Fashion-MNIST"
    )
    parser.add_argument("--digits-seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n-train", type=int, default=FULL_BUDGET["n_train"])
    parser.add_argument("--n-test", type=int, default=FULL_BUDGET["n_test"])
    parser.add_argument("--width", type=int, default=FULL_BUDGET["width"])
    parser.add_argument("--epochs", type=int, default=FULL_BUDGET["epochs"])
    parser.add_argument("--batch-size", type=int, default=FULL_BUDGET["batch_size"])
    # One thread: on the shared 2-core machine the width-32 training step ran
    # 7-10x faster with 1 torch thread than with 2 (benchmarks/README.md).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--data-home",
        default=os.environ.get("SKLEARN_SGANOMALY_DATA", str(DEFAULT_DATA)),
    )
    parser.add_argument(
        "--out", default=str(DEFAULT_OUT), help="summary JSON; '-' prints it"
    )
    parser.add_argument(
        "--cache", default=None, help="folder of per-run JSON (default: next to --out)"
    )
    parser.add_argument(
        "--summary-only", action="store_true", help="run nothing, summarize the cache"
    )
    parser.add_argument("--markdown", action="store_true", help="print the tables")
    parser.add_argument("--plot", default=None, help="bar plot PNG (needs matplotlib)")
    parser.add_argument(
        "--bn-diagnostic",
        nargs="+",
        metavar="DATASET:CLASS",
        default=None,
        help="only: per-epoch AUC under three BatchNorm scorings, e.g. mnist:0",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny CI run")
    args = parser.parse_args(argv)
    if args.smoke:
        args.datasets, args.classes = ["digits"], [1]
        args.digits_seeds = [0]
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.smoke:
        budget = dict(SMOKE_BUDGET)
    else:
        budget = dict(FULL_BUDGET)
        budget |= {
            "n_train": args.n_train,
            "n_test": args.n_test,
            "width": args.width,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
        }
    tmp = None
    if args.smoke:
        tmp = tempfile.TemporaryDirectory()
        cache = pathlib.Path(tmp.name)
    elif args.cache:
        cache = pathlib.Path(args.cache)
    else:
        out = pathlib.Path(args.out if args.out != "-" else DEFAULT_OUT)
        cache = out.with_name(out.stem + "-runs")
    cache.mkdir(parents=True, exist_ok=True)

    if args.bn_diagnostic:
        diagnostic = run_bn_diagnostic(
            args.bn_diagnostic, args.data_home, budget, args.device
        )
        path = RESULTS / f"{pathlib.Path(args.out).stem}-bn-diagnostic.json"
        if args.out == "-":
            path = None
        result = {
            "description": "per-epoch test AUC of one fit, three scorings",
            "scorings": BN_SCORINGS,
            "machine": machine_info(),
            "budget": budget,
            "runs": diagnostic,
        }
        if path is not None:
            path.write_text(json.dumps(result, indent=1))
            print(f"wrote {path}")
        print(bn_markdown(diagnostic))
        return result

    session_start = time.perf_counter()
    n_done = 0
    for dataset in [] if args.summary_only else args.datasets:
        seeds = args.digits_seeds if dataset == "digits" else args.seeds
        data = None
        for seed in seeds:
            for anomaly_class in args.classes:
                path = cache / f"{run_key(dataset, anomaly_class, seed)}.json"
                if path.exists() and json.loads(path.read_text())["budget"] == budget:
                    continue
                if data is None:
                    data = load_data(dataset, args.data_home)
                run = run_one(
                    dataset,
                    data,
                    anomaly_class,
                    seed,
                    budget,
                    args.device,
                    check=args.smoke,
                )
                # Written through a temporary name so an interrupted write never
                # leaves a truncated run that a resume would trust.
                partial = path.with_suffix(".tmp")
                partial.write_text(json.dumps(run, indent=1))
                partial.replace(path)
                n_done += 1
                shown = ", ".join(
                    f"{k.replace('Skip-GANomaly', 'SG')} {_fmt(v)}"
                    for k, v in run["auroc"].items()
                )
                print(
                    f"{run_key(dataset, anomaly_class, seed)} "
                    f"({run['wall_s']:.0f} s): {shown}",
                    flush=True,
                )

    runs = load_runs(cache, budget)
    summary = summarize(runs)
    result = {
        "description": "one-class ROC AUC, spec section 2.2 protocol, same splits "
        "for every detector",
        "machine": machine_info(),
        "protocol": {
            "split": "make_one_class_split(protocol='official'): train on the "
            "normal classes' training images; test on their test images, then "
            "the anomaly class's training images, then its test images",
            "digits_split": "load_digits split 75/25 stratified by class with "
            "random_state=seed, then the same protocol",
            "subsample": "n_train training normals drawn uniformly; n_test test "
            "images drawn from the normal and anomalous parts in proportion, "
            "kept in protocol order",
            "modes": {
                SG_CLEAN: "decision_function: eval-mode BatchNorm, per-sample "
                "scores, model after the last epoch",
                SG_OFFICIAL: "after every epoch, ordered test batches of "
                "batch_size scored with train-mode BatchNorm; best epoch by "
                "test AUC (selects on the test set, as the official code)",
                SG_OFFICIAL_LAST: "the same scoring, last epoch",
            },
            "peers": "PyOD defaults on flattened pixels, random_state=seed, verbose=0",
        },
        "budget": budget,
        "seeds": {d: summary[d]["seeds"] for d in summary},
        "wall_time_s": {
            "sum_of_runs": float(sum(r["wall_s"] for r in runs)),
            "skipganomaly_fit": float(sum(r["skipganomaly"]["fit_s"] for r in runs)),
            "official_scoring": float(
                sum(r["skipganomaly"]["official_eval_s"] for r in runs)
            ),
            "peers": float(
                sum(v["fit_score_s"] for r in runs for v in r["peers"].values())
            ),
            "first_run_to_last_run": _span_s(runs),
            "this_invocation": time.perf_counter() - session_start,
            "runs_this_invocation": n_done,
        },
        "summary": summary,
        "runs": runs,
    }
    text = json.dumps(result, indent=1)
    if args.out == "-" or args.smoke:
        shown = {"summary": summary, "wall_time_s": result["wall_time_s"]}
        print(json.dumps(shown, indent=1))
    else:
        pathlib.Path(args.out).write_text(text)
        print(f"wrote {args.out} ({len(runs)} runs)")
    if args.markdown:
        print(markdown(summary))
    if args.plot:
        plot(summary, args.plot)
        print(f"wrote {args.plot}")
    if args.smoke:
        for run in runs:
            for name, auc in run["auroc"].items():
                assert auc is not None, name
                assert 0.0 <= auc <= 1.0, (name, auc)
        tmp.cleanup()
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
