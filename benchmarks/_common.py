"""What the benchmarks share: the machine description, the peak-memory sampler,
the PyOD peers and the estimator parameters a result records."""

from __future__ import annotations

import datetime
import os
import pathlib
import platform
import subprocess
import threading
import time

import numpy as np
import pyod
import sklearn
import skorch
import torch

import sklearn_sganomaly

# The PyOD detectors every quality benchmark compares against, PyOD's defaults.
PEERS = ("IForest", "LOF", "KNN", "PCA", "AutoEncoder", "DeepSVDD", "ECOD")


def machine_info():
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "skorch": skorch.__version__,
        "pyod": pyod.__version__,
        "sklearn_sganomaly": sklearn_sganomaly.__version__,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
        models = [
            ln.split(":", 1)[1].strip()
            for ln in text.splitlines()
            if ln.startswith("model name")
        ]
        info["cpu_model"] = models[0] if models else platform.processor()
        flags = set(text.split())
        info["cpu_bf16_flags"] = sorted(flags & {"avx512_bf16", "amx_bf16", "avx512f"})
    except OSError:
        info["cpu_model"] = platform.processor()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    try:
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=pathlib.Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


class RSSPeak:
    """Sample this process's resident set size in a thread; report the peak."""

    def __init__(self, interval=0.002):
        self.interval = interval
        self.peak = self.peak_anon = 0
        self._stop = threading.Event()

    @staticmethod
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    @staticmethod
    def rss_anon():
        """Resident memory not backed by files: what a memmap's pages are not."""
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self.peak_anon = max(self.peak_anon, self.rss_anon())
            time.sleep(self.interval)

    def __enter__(self):
        self.start = self.peak = self.rss()
        self.start_anon = self.peak_anon = self.rss_anon()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())
        self.peak_anon = max(self.peak_anon, self.rss_anon())


def make_peers(n_features, seed, budget):
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.deep_svdd import DeepSVDD
    from pyod.models.ecod import ECOD
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
        # "full": on rank-deficient data (digits) scikit-learn >= 1.5 picks the
        # covariance_eigh solver, whose zero eigenvalues PyOD's PCA divides by.
        "PCA": PCA(random_state=seed, svd_solver="full"),
        "ECOD": ECOD(),
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


def default_params(det):
    """``get_params()`` of the estimator of the default row, callbacks left out."""
    params = det.get_params()
    params.pop("callbacks")
    return {k: v if isinstance(v, (int, float, str, bool, type(None))) else str(v)
            for k, v in params.items()}  # fmt: skip


# The training options the quality benchmarks try, fixed before any of them was
# run: estimator parameters set on top of the paper's training (NO_TRAINING_OPTION).
NO_TRAINING_OPTION = {
    "skip_dropout": 0.0,
    "validation_fraction": None,
    "validation_scoring": "mean_score",
}
TRAINING_OPTIONS = {
    "skip dropout 0.5": {"skip_dropout": 0.5},
    "synthetic-AUC early stopping": {
        "validation_fraction": 0.1,
        "validation_scoring": "synthetic_auc",
    },
}
