# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Offline data set loaders and generators for image anomaly detection.

Nothing in this module downloads anything. The loaders read files that are already
on disk (the original MNIST / Fashion-MNIST IDX files, or an MVTec AD style image
folder) and fail with a message that says where they looked and what to put there.

Images use the library layout: numpy arrays of shape ``(n_samples, n_channels,
height, width)`` (channels first), dtype ``uint8`` for loaded image data.

The folder that holds the data sets defaults to the environment variable
``SKLEARN_SGANOMALY_DATA``; MNIST is read from ``<data_home>/mnist/`` and
Fashion-MNIST from ``<data_home>/fashion-mnist/``.
"""

from ._folders import load_image_folder
from ._idx import load_fashion_mnist, load_idx, load_mnist
from ._splits import make_one_class_split
from ._synthetic import make_synthetic_defects

__all__ = [
    "load_fashion_mnist",
    "load_idx",
    "load_image_folder",
    "load_mnist",
    "make_one_class_split",
    "make_synthetic_defects",
]
