# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Skip-GANomaly anomaly detection for scikit-learn and PyOD."""

from importlib.metadata import PackageNotFoundError, version

from ._detector import SkipGANomalyDetector

try:
    __version__ = version("sklearn-sganomaly")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["SkipGANomalyDetector", "__version__"]
