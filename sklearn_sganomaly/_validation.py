# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Turn user input into the network's float32 input, and resolve devices.

The estimator validates a 2-D view of every input with scikit-learn's
``validate_data`` (so sklearn's error messages and ``n_features_in_`` apply) and
then calls :func:`to_network_input`, the one path from validated data to what the
networks see, used identically in ``fit`` and at scoring time.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from scipy import sparse

__all__ = [
    "NetworkInput",
    "channels_last_rows",
    "flatten_images",
    "intensity_unit",
    "network_shape",
    "resolve_device",
    "to_network_input",
]

_MIN_NETWORK_SIZE = 32


_MIN_IMAGE_SIDE = 8
_MAX_CHANNELS_AUTO = 4
# Scaled inputs are clipped to this band: far outside the training range the
# score is already huge, and float32 must not overflow into inf or NaN.
_INPUT_LIMIT = 1e3
# Image values scaled beyond +-10 (4.5 training ranges past the training
# interval) are not an anomaly but another scale: 0-255 where 0-1 was fitted
# lands near 500.
_FAR_OUTSIDE = 10.0


def intensity_unit(dtype):
    """The value that means full intensity in images of ``dtype``.

    Integer images carry their range in their dtype, as scikit-image's
    ``img_as_float`` and torchvision's ``ToTensor`` read them: uint8 255, uint16
    65535; float images are read as they are (1.0). Dividing by it makes the same
    picture the same numbers in any dtype.
    """
    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0


def flatten_images(X, layout="auto"):
    """Return ``(X_2d, image_shape)``: image arrays flattened, others untouched.

    4-D arrays are images in ``layout`` ("NCHW", "NHWC", or "auto": the axis of
    size <= 4 among axes 1 and 3 holds the channels), flattened in (C, H, W)
    order; 3-D ``(n, H, W)`` arrays are grayscale images ``(1, H, W)``. Anything
    else is returned as is with ``image_shape=None``, for ``validate_data`` to
    accept or reject.
    """
    if isinstance(X, list | tuple):
        try:
            X = np.asarray(X)
        except ValueError:  # ragged: validate_data words the error
            return X, None
    ndim = None if sparse.issparse(X) else getattr(X, "ndim", None)
    if ndim == 4:
        if _channels_last(X.shape, layout):
            X = np.moveaxis(np.asarray(X), 3, 1)
    elif ndim == 3:
        X = np.asarray(X)[:, None]
    else:
        return X, None
    shape = tuple(int(s) for s in X.shape[1:])
    if min(shape[1:]) < _MIN_IMAGE_SIDE:
        raise ValueError(
            f"Images must be at least {_MIN_IMAGE_SIDE}x{_MIN_IMAGE_SIDE} pixels, got "
            f"(C, H, W) = {shape}. Pass smaller inputs as a flattened 2-D table."
        )
    # Not reshape(n, -1): an empty batch must keep its row width, for
    # validate_data to report the missing samples.
    return np.asarray(X).reshape(len(X), int(np.prod(shape))), shape


def channels_last_rows(X, layout="auto"):
    """``(X_2d, image_shape)`` of channels-last images, rows in (H, W, C) order.

    A reshape, so a view of ``X`` when it is contiguous: a memmap stays on disk
    instead of being read whole to move its channel axis, as ``flatten_images``
    must. ``NetworkInput(..., channels_last=True)`` reorders the rows batch by
    batch. Returns None for anything but 4-D channels-last images of at least
    ``_MIN_IMAGE_SIDE`` pixels, which ``flatten_images`` handles (or rejects).
    """
    if getattr(X, "ndim", None) != 4 or not _channels_last(X.shape, layout):
        return None
    n_samples, height, width, n_channels = (int(s) for s in X.shape)
    if min(height, width) < _MIN_IMAGE_SIDE:
        return None
    return X.reshape(n_samples, -1), (n_channels, height, width)


def _channels_last(shape, layout):
    if layout != "auto":
        return layout == "NHWC"
    first, last = shape[1] <= _MAX_CHANNELS_AUTO, shape[3] <= _MAX_CHANNELS_AUTO
    if first != last:
        return last
    raise ValueError(
        f"Cannot tell whether the channels of X with shape {tuple(shape)} are on "
        "axis 1 or axis 3; set image_layout='NCHW' or image_layout='NHWC'."
    )


def network_shape(image_shape):
    """Shape the networks are built for: square, a power of two, at least 32.

    Images are resized rather than padded: padding an 8x8 digit to 32x32 would
    make 15/16 of the pixels a constant border that dominates the mean squared
    reconstruction error, while resizing keeps every pixel informative.
    """
    if image_shape is None:
        return None
    n_channels, height, width = image_shape
    size = max(_MIN_NETWORK_SIZE, 1 << (max(height, width) - 1).bit_length())
    return (n_channels, size, size)


def to_network_input(X, *, image_shape, data_min, data_range):
    """Scale rows of validated data to [-1, 1] and shape them for the networks.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated data, of any numeric dtype.
    image_shape : tuple (C, H, W) or None
        Shape of one image, or None for tabular data.
    data_min, data_range : ndarray
        Learned in ``fit``: scalars for images, per-feature arrays for tables.
        Values outside the training range map outside [-1, 1] on purpose, so the
        reconstruction error can flag them, but are clipped to +-1000 so that
        float32 never overflows.

    Returns
    -------
    ndarray of float32, shape (n_samples, *network_shape) or (n_samples, n_features)
    """
    scaled = (X - data_min) * (2.0 / data_range) - 1.0
    scaled = np.clip(scaled, -_INPUT_LIMIT, _INPUT_LIMIT).astype(np.float32)
    if image_shape is None:
        return scaled
    images = torch.from_numpy(scaled.reshape(len(X), *image_shape))
    size = network_shape(image_shape)[1:]
    if images.shape[2:] != size:
        images = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    return images.numpy()


class NetworkInput:
    """Validated rows that become network input one slice at a time.

    Indexing with a slice or an index array returns the float32 tensor
    ``to_network_input`` makes of those rows, so no float copy of the whole data
    ever exists: memory grows with the slice, not with ``X``. Rows of a memmap
    are read from disk only when their slice is asked for.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Validated data, of any numeric dtype.
    channels_last : bool, default=False
        Whether image rows are flattened in (H, W, C) order (from
        ``channels_last_rows``) rather than (C, H, W).
    **scaling
        ``image_shape``, ``data_min`` and ``data_range``, as for
        ``to_network_input``.
    """

    def __init__(self, X, *, channels_last=False, **scaling):
        self.X = X
        self.channels_last = channels_last
        self.scaling = scaling
        self._warned = False

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        rows = self.X[index]
        if self.channels_last:
            n_channels, height, width = self.scaling["image_shape"]
            rows = rows.reshape(-1, height, width, n_channels).transpose(0, 3, 1, 2)
            rows = rows.reshape(len(rows), -1)
        network_input = to_network_input(rows, **self.scaling)
        if self.scaling["image_shape"] is not None and not self._warned:
            self._warn_if_far_outside(rows, network_input)
        return torch.from_numpy(network_input)

    def _warn_if_far_outside(self, rows, network_input):
        if not network_input.size or np.abs(network_input).max() <= _FAR_OUTSIDE:
            return
        self._warned = True
        low = float(self.scaling["data_min"])
        high = low + float(self.scaling["data_range"])
        warnings.warn(
            f"X holds pixel values from {rows.min():g} to {rows.max():g}, far "
            f"outside the range the detector was fitted on ({low:g} to {high:g} "
            f"in X's dtype {rows.dtype}); its scores reflect the scale, not the "
            "images. Scale X as the training images were (e.g. float images in "
            "[0, 1] at fit and 0-255 now?).",
            UserWarning,
            stacklevel=2,
        )


def resolve_device(device):
    """Return the ``torch.device`` for ``device`` ("auto": CUDA, then MPS, then CPU).

    Raises ``ValueError`` naming the value when the device is unknown or not
    available, instead of letting torch fail later in ``fit``.
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a valid device; use 'auto', 'cpu', 'cuda', "
            "'cuda:N' or 'mps'."
        ) from exc
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if resolved.type not in available:
        raise ValueError(
            f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda', "
            "'cuda:N' or 'mps'."
        )
    if not available[resolved.type]:
        raise ValueError(
            f"device={device!r} was requested, but {resolved.type.upper()} is not "
            "available in this torch installation; use device='auto' or 'cpu'."
        )
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was requested, but only "
            f"{torch.cuda.device_count()} CUDA device(s) are visible."
        )
    return resolved
