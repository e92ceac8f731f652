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
next to ``--out``; a rerun with the same budget skips the runs already there that
scored today's defaults, so an interrupted benchmark resumes where it stopped. A
run of older defaults is redone, reusing its peers' results (PyOD's detectors do
not depend on this library's defaults; the run records ``peers_reused``). The
summary JSON, the markdown tables (``--markdown``) and the bar plot (``--plot``,
needs matplotlib) are built from all cached runs of the budget.

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
from _common import PEERS, default_params, machine_info, make_peers
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._inputs import learn_input, scoring_input
from sklearn_sganomaly._scoring import score_terms
from sklearn_sganomaly._training import SNAPSHOT_EPOCHS
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

SG_DEFAULT = "Skip-GANomaly default"
SG_CLEAN = "Skip-GANomaly clean"
SG_OFFICIAL = "Skip-GANomaly official"
SG_OFFICIAL_LAST = "Skip-GANomaly official, last epoch"
# Columns of the tables and the plot; the official last-epoch AUC stays in the
# JSON and the mean table, where it separates the effect of BatchNorm from that
# of picking the best epoch.
COMPARED = (SG_DEFAULT, SG_CLEAN, SG_OFFICIAL, *PEERS)
# The candidate that computes what the default estimator computes.
DEFAULT_CANDIDATE = "snapshot mean knn5+lof5 D"

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
    "epochs": 3,  # two snapshots before the last: the ensemble is checked
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

    Through the package's input module, as ``fit`` and ``decision_function``
    call it: the scaling learned from ``X_train``, applied to ``X_test``. The
    benchmark asserts after each fit that the detector learned the same one.
    """
    probe = SkipGANomalyDetector()
    scaling, _ = learn_input(probe, X_train)
    X_net = scoring_input(probe, X_test, scaling)[:].numpy()
    return X_net, scaling.data_min, scaling.data_range


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
            scores.append(net.official_scores(x.to(net.device)).float().cpu().numpy())
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
    """The estimator with its defaults; only the budget's width (and epochs and
    batch size where they differ from the defaults, as in ``--smoke``), the
    seed and the device are set."""
    defaults = SkipGANomalyDetector().get_params()
    params = {"width": budget["width"], "random_state": seed, "device": device}
    for key in ("epochs", "batch_size", "precision"):
        if key in budget and budget[key] != defaults[key]:
            params[key] = budget[key]
    if callbacks is not None:
        params["callbacks"] = callbacks
    return SkipGANomalyDetector(**params)


class SnapshotViews(Callback):
    """Store what the candidate scores need after the snapshot epochs.

    For the training images (the neighbour scores' reference) and the test
    images: the discriminator features (eval mode, as the estimator
    computes them) and the per-sample reconstruction error R and feature error
    L of the official score. Written to ``{folder}/e{epoch}.npz``, not kept on
    the callback, which the detector copies at fit.
    """

    def __init__(self, X_ref, X_test, epochs, folder):
        self.X_ref = X_ref
        self.X_test = X_test
        self.epochs = epochs
        self.folder = folder

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch not in self.epochs:
            return
        views = {}
        for part, X in (("ref", self.X_ref), ("test", self.X_test)):
            views[f"{part}_D"] = net.discriminator_features(X)
            views[f"{part}_R"], views[f"{part}_L"] = official_terms(net, X)
        np.savez(pathlib.Path(self.folder) / f"e{epoch}.npz", **views)


def official_terms(net, X_net):
    """Per-sample R (mean squared pixel error) and L (mean squared feature error)."""
    modules = (net.module_, net.discriminator_)
    modes = [m.training for m in modules]
    for module in modules:
        module.eval()
    R, L = [], []
    with torch.no_grad():
        for start in range(0, len(X_net), net.batch_size):
            x = torch.as_tensor(X_net[start : start + net.batch_size]).to(net.device)
            fake = net.module_(x)
            features = net.discriminator_(torch.cat([x, fake]))[1]
            pixel, feature = score_terms(x, fake, *features.chunk(2))
            R.append(pixel.double().cpu().numpy())
            L.append(feature.double().cpu().numpy())
    for module, mode in zip(modules, modes, strict=True):
        module.train(mode)
    return np.concatenate(R), np.concatenate(L)


def _z(scores, reference):
    return (scores - reference.mean()) / (reference.std() or 1.0)


def candidate_scores(views, last):
    """Every candidate score of the test images, from the views of one fit.

    ``views`` maps epoch -> npz content. Fixed before any result was seen:
    neighbour scores on the discriminator's features (kNN k=5, LOF k=5 and 20,
    kNN+LOF) at each snapshot epoch, their snapshot ensemble (mean of the
    standardised kNN+LOF over all snapshots), the official score and its two
    terms at each epoch, the two terms standardised on log scale with the
    training images' statistics, and kNN+LOF of epoch 1 plus standardised R.
    """
    from sklearn_sganomaly._neighbors import FeatureNeighbours

    out, combo = {}, {}
    for epoch, v in views.items():
        ref, test = v["ref_D"], v["test_D"]
        for name, method, k in (
            ("knn5", "knn", 5),
            ("lof5", "lof", 5),
            ("lof20", "lof", 20),
            ("knn5+lof5", "knn+lof", 5),
        ):
            fitted = FeatureNeighbours(method, k).fit(ref)
            out[f"{name} D e{epoch}"] = fitted.score(test)
            if method == "knn+lof":
                combo[epoch] = out[f"{name} D e{epoch}"]
        out[f"official e{epoch}"] = 0.9 * v["test_R"] + 0.1 * v["test_L"]
        out[f"R e{epoch}"] = v["test_R"]
        out[f"L e{epoch}"] = v["test_L"]
    out["snapshot mean knn5+lof5 D"] = np.mean(list(combo.values()), axis=0)
    v = views[last]
    out[f"z(log R)+z(log L) e{last}"] = sum(
        _z(np.log(v[f"test_{t}"]), np.log(v[f"ref_{t}"])) for t in "RL"
    )
    first = views[min(views)]
    out["knn5+lof5 D e1 + z(log R) e1"] = combo[min(views)] + _z(
        np.log(first["test_R"]), np.log(first["ref_R"])
    )
    return out


def run_skipganomaly(X_tr, X_te, y_te, seed, budget, device, *, views, verbose=False):
    """One fit of the default estimator; every Skip-GANomaly row comes from it."""
    if "callbacks" not in SkipGANomalyDetector().get_params():
        raise RuntimeError(
            "The official evaluation mode needs SkipGANomalyDetector(callbacks=...)."
        )
    X_net, data_min, data_range = network_input_as_fit(X_tr, X_te)
    X_ref, _, _ = network_input_as_fit(X_tr, X_tr)
    last = budget["epochs"]
    epochs = sorted({e for e in SNAPSHOT_EPOCHS if e <= last} | {last})
    views = pathlib.Path(views)
    views.mkdir(parents=True, exist_ok=True)
    callbacks = [
        ("snapshot_views", SnapshotViews(X_ref, X_net, epochs, views)),
        ("official_eval", OfficialEvaluation(X_net, y_te, verbose=verbose)),
    ]
    det = make_skipganomaly(seed, budget, device, callbacks)
    start = time.perf_counter()
    det.fit(X_tr)
    fit_s = time.perf_counter() - start
    # The official scores are only comparable if they saw the inputs fit saw.
    assert np.float64(det.data_min_) == data_min, (det.data_min_, data_min)
    assert np.float64(det.data_range_) == data_range, (det.data_range_, data_range)
    start = time.perf_counter()
    default_scores = det.decision_function(X_te)
    score_s = time.perf_counter() - start
    clean_scores = official_scores(det.net_, X_net, training=False)
    auroc = {
        SG_DEFAULT: float(roc_auc_score(y_te, default_scores)),
        SG_CLEAN: float(roc_auc_score(y_te, clean_scores)),
    }
    per_epoch = det.history_[:, "official_auc"]
    eval_s = float(np.sum(det.history_[:, "official_eval_s"]))
    finite = [a for a in per_epoch if a is not None]
    best = int(np.argmax([-1.0 if a is None else a for a in per_epoch]))
    auroc[SG_OFFICIAL] = float(per_epoch[best]) if finite else None
    auroc[SG_OFFICIAL_LAST] = per_epoch[-1]
    loaded = {e: dict(np.load(views / f"e{e}.npz")) for e in epochs}
    candidates = {
        name: _auc(y_te, scores)
        for name, scores in candidate_scores(loaded, last).items()
    }
    v = loaded[last]
    terms = {
        "R": candidates[f"R e{last}"],
        "L": candidates[f"L e{last}"],
        "knn5_D_last": candidates[f"knn5 D e{last}"],
        # How much the 0.1 L term weighs against the 0.9 R term, on the test set.
        "latent_to_pixel_scale": float(
            np.mean(0.1 * v["test_L"]) / np.mean(0.9 * v["test_R"])
        ),
    }
    return {
        "auroc": auroc,
        "candidates": candidates,
        "terms": terms,
        "default_params": default_params(det),
        "official_auc_per_epoch": per_epoch,
        "official_best_epoch": best + 1,
        "official_eval_s": eval_s,
        "fit_s": fit_s - eval_s,
        "score_s": score_s,
        "d_reinits": int(np.sum(det.history_[:, "d_reinits"])),
    }, det


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


def run_one(
    dataset,
    data,
    anomaly_class,
    seed,
    budget,
    device,
    *,
    views,
    check=False,
    cached=None,
):
    """One split: the default estimator and the peers.

    ``cached`` is an earlier run of the same split and budget: its peers'
    results are reused (PyOD's detectors do not change with this library's
    defaults) and marked ``peers_reused``.
    """
    start = time.perf_counter()
    X_tr, X_te, y_te, full = one_class_split(data, anomaly_class, seed, budget)
    sg, det = run_skipganomaly(
        X_tr, X_te, y_te, seed, budget, device, views=views, verbose=not check
    )
    if check:
        check_isolation(det, X_tr, X_te, seed, budget, device)
        # The candidate computed like the default must score like it.
        default = sg["candidates"][DEFAULT_CANDIDATE]
        assert abs(default - sg["auroc"][SG_DEFAULT]) < 1e-9, (default, sg["auroc"])
    reuse = cached is not None and set(cached["peers"]) == set(PEERS)
    if reuse:
        peers = {
            k: v | {"auroc": cached["auroc"][k]} for k, v in cached["peers"].items()
        }
    else:
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
        "peers": {k: {n: v[n] for n in v if n != "auroc"} for k, v in peers.items()},
        "peers_reused": reuse,
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


def is_current(run):
    """Whether a cached run scored today's default estimator."""
    saved = run.get("skipganomaly", {}).get("default_params")
    if saved is None:
        return False
    now = default_params(SkipGANomalyDetector())
    # Set by the budget, which load_runs and resuming compare on their own.
    ignored = {"width", "random_state", "device", "epochs", "batch_size", "precision"}
    return all(saved.get(k) == v for k, v in now.items() if k not in ignored)


def load_runs(cache, budget):
    """The cached runs of ``budget`` that scored today's default estimator."""
    runs = []
    for path in sorted(cache.glob("*.json")):
        run = json.loads(path.read_text())
        if run["budget"] == budget and is_current(run):
            run["default_params"] = run["skipganomaly"]["default_params"]
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
        names = [*COMPARED[:3], SG_OFFICIAL_LAST, *COMPARED[3:]]
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
        candidates = sorted(mine[0]["skipganomaly"]["candidates"])
        candidate_means = {
            name: float(np.mean([
                np.mean([r["skipganomaly"]["candidates"][name]
                         for r in mine if r["anomaly_class"] == c])
                for c in classes
            ]))
            for name in candidates
        }  # fmt: skip
        summary[dataset] = {
            "classes": classes,
            "seeds": seeds,
            "seeds_covering_all_classes": complete,
            "n_runs": len(mine),
            "mean_over_classes": overall,
            "per_class": per_class,
            "best_peer": best_peer,
            "default_beats_every_peer": (overall[SG_DEFAULT]["mean"] or -1.0)
            > (overall[best_peer]["mean"] or -1.0),
            "candidates_mean_over_classes": candidate_means,
        }
    for dataset in summary:
        summary[dataset]["leave_one_dataset_out"] = leave_one_dataset_out(
            summary, dataset
        )
    return summary


def leave_one_dataset_out(summary, held_out):
    """The candidate a selection on the other data sets picks, and its result here.

    Each candidate's mean over classes is averaged over the data sets other than
    ``held_out``; the best one is what that selection would ship, and its mean
    on ``held_out`` is a result no test image of ``held_out`` chose.
    """
    others = [d for d in summary if d != held_out]
    if not others:
        return None
    names = summary[held_out]["candidates_mean_over_classes"]
    pooled = {
        n: float(
            np.mean([summary[d]["candidates_mean_over_classes"][n] for d in others])
        )
        for n in names
    }
    chosen = max(pooled, key=pooled.get)
    return {
        "chosen_on": others,
        "chosen": chosen,
        "chosen_mean_on_others": pooled[chosen],
        "chosen_mean_here": names[chosen],
        "default_candidate": DEFAULT_CANDIDATE,
        "default_rank_on_others": sorted(pooled, key=pooled.get, reverse=True).index(
            DEFAULT_CANDIDATE
        )
        + 1,
        "n_candidates": len(pooled),
    }


def _fmt(mean, std=None):
    if mean is None:
        return "n/a"
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"


def markdown(summary):
    """The README tables, generated from the summary (no number typed by hand)."""
    lines = []
    datasets = [d for d in DATASETS if d in summary]
    names = [SG_DEFAULT, SG_CLEAN, SG_OFFICIAL, SG_OFFICIAL_LAST, *PEERS]
    titles = " | ".join(DATASET_TITLES[d] for d in datasets)
    lines.append(f"| detector | {titles} |")
    lines.append("|---|" + "---:|" * len(datasets))
    for name in names:
        cells = []
        for d in datasets:
            o = summary[d]["mean_over_classes"][name]
            cells.append(_fmt(o["mean"], o["std_over_seeds"]))
        label = f"**{name}**" if name == SG_DEFAULT else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", candidates_markdown(summary, datasets)]
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


def candidates_markdown(summary, datasets):
    """Every candidate's mean over classes, and the leave-one-dataset-out picks."""
    names = sorted(
        summary[datasets[0]]["candidates_mean_over_classes"],
        key=lambda n: (
            -np.mean([summary[d]["candidates_mean_over_classes"][n] for d in datasets])
        ),
    )
    titles = " | ".join(DATASET_TITLES[d] for d in datasets)
    lines = [f"| candidate (test AUROC, mean over classes) | {titles} | mean |"]
    lines.append("|---|" + "---:|" * (len(datasets) + 1))
    for n in names:
        values = [summary[d]["candidates_mean_over_classes"][n] for d in datasets]
        label = f"**{n}** (default)" if n == DEFAULT_CANDIDATE else n
        cells = [f"{v:.3f}" for v in values] + [f"{np.mean(values):.3f}"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "| held-out data set | chosen on the others | its mean there "
              "| its mean on the held-out set | the default's rank on the others |",
              "|---|---|---:|---:|---:|"]  # fmt: skip
    for d in datasets:
        lodo = summary[d]["leave_one_dataset_out"]
        if lodo is None:
            continue
        lines.append(
            f"| {DATASET_TITLES[d]} | {lodo['chosen']} | "
            f"{lodo['chosen_mean_on_others']:.3f} | {lodo['chosen_mean_here']:.3f} | "
            f"{lodo['default_rank_on_others']} of {lodo['n_candidates']} |"
        )
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
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="the detector's precision (auto: its default); bf16 runs go to "
        "their own --out and --cache",
    )
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
    parser.add_argument(
        "--views",
        default=None,
        help="folder for the per-epoch features and terms (default: in the cache)",
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
    if args.precision != "auto":
        # Only then: runs cached without this key keep matching the budget.
        budget["precision"] = args.precision
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
                key = run_key(dataset, anomaly_class, seed)
                path = cache / f"{key}.json"
                cached = None
                if path.exists():
                    cached = json.loads(path.read_text())
                    if cached["budget"] != budget:
                        cached = None
                    elif is_current(cached):
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
                    views=pathlib.Path(args.views or cache / "views") / key,
                    check=args.smoke,
                    cached=cached,
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
                SG_DEFAULT: "decision_function of SkipGANomalyDetector with its "
                "defaults (only width, random_state and device set): kNN+LOF on "
                "the features of the discriminator after epoch 1, per sample",
                SG_CLEAN: "the official score 0.9 R + 0.1 L of the same fit, "
                "eval-mode BatchNorm, per-sample scores, model after the last epoch",
                SG_OFFICIAL: "after every epoch, ordered test batches of "
                "batch_size scored with train-mode BatchNorm; best epoch by "
                "test AUC (selects on the test set, as the official code)",
                SG_OFFICIAL_LAST: "the same scoring, last epoch",
            },
            "peers": "PyOD defaults on flattened pixels, random_state=seed, "
            "verbose=0; PCA with svd_solver='full'",
            "candidates": "scores of the same fit (candidate_scores), test AUROC "
            "per run; leave_one_dataset_out picks the best candidate on the other "
            "data sets' means and reports it on the held-out one",
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
