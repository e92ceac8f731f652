# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Input preparation: from what a user passes to what the networks see.

``fit`` makes one call, :func:`training_input`, and scoring one, :func:`scoring_input`.
Both validate a 2-D view of the input with scikit-learn's ``validate_data`` (so
sklearn's error messages and ``n_features_in_`` apply), after the image layout
and dtype policy here; ``learn_input`` learns the scaling (``InputScaling``) that
:func:`to_network_input`, the one path from validated data to network input,
then applies in the same way at fit and at scoring time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import sparse
from sklearn.utils.validation import validate_data

__all__ = [
    "InputScaling",
    "NetworkInput",
    "channels_last_rows",
    "flatten_images",
    "holdout",
    "intensity_unit",
    "learn_input",
    "network_shape",
    "scoring_input",
    "to_network_input",
    "training_input",
]

_MIN_NETWORK_SIZE = 32


_MIN_IMAGE_SIDE = 8
_MAX_CHANNELS_AUTO = 4
# Scaled inputs are clipped to this band: far outside the training range the
# score is already huge, and float32 must not overflow into inf or NaN.
_INPUT_LIMIT = 1e3
# Numeric dtypes kept as given (a uint8 memmap stays uint8 and on disk); anything
# else is converted to the first. Conversion to float32 happens batch by batch.
_KEPT_DTYPES = (
    np.float32, np.float64, np.float16,
    np.uint8, np.uint16, np.uint32, np.uint64,
    np.int8, np.int16, np.int32, np.int64,
)  # fmt: skip
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

    def subset(self, rows):
        """The same conversion of ``X[rows]``."""
        return NetworkInput(
            self.X[rows], channels_last=self.channels_last, **self.scaling
        )

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


@dataclass(frozen=True)
class InputScaling:
    """What ``fit`` learned about its input, applied alike at scoring time.

    ``data_min`` and ``data_range`` map the training data to [-1, 1]: scalars
    for images, per feature for tables. With ``dtype_ranges``, integer images
    are measured in units of their dtype's range (``intensity_unit``); model
    files from before it was introduced scale them in raw values.
    """

    image_shape: tuple | None
    data_min: np.ndarray
    data_range: np.ndarray
    dtype_ranges: bool = True

    def apply(self, X, channels_last=False):
        """``NetworkInput`` of validated rows ``X``, in ``X``'s own units."""
        unit = 1.0
        if self.image_shape is not None and self.dtype_ranges:
            unit = intensity_unit(X.dtype)
        return NetworkInput(
            X,
            channels_last=channels_last,
            image_shape=self.image_shape,
            data_min=self.data_min * unit,
            data_range=self.data_range * unit,
        )


def learn_input(estimator, X):
    """Validate training data for ``estimator`` and learn its scaling.

    Reads the estimator's ``image_layout`` and ``image_shape`` parameters and
    resets its ``n_features_in_`` (through ``validate_data``). Returns
    ``(scaling, data)``: an ``InputScaling`` and the ``NetworkInput`` of ``X``.
    """
    X, image_shape, channels_last = _flatten(X, estimator.image_layout)
    X = _check_float32_range(
        validate_data(estimator, X, reset=True, dtype=_KEPT_DTYPES)
    )
    n_samples, n_features = X.shape
    if n_samples < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs at least 2 samples to fit, got "
            f"n_samples={n_samples} (1 sample)."
        )
    image_shape = _image_shape(estimator.image_shape, image_shape, n_features)
    # One affine map to [-1, 1] (the generator's Tanh range): global for images,
    # so pixel values keep their meaning, per feature for tables. Integer images
    # are read in their dtype's range first (uint8 255 is full intensity), so
    # that the same picture scores the same in any dtype.
    axis, unit = (0, 1.0) if image_shape is None else (None, intensity_unit(X.dtype))
    data_min = X.min(axis=axis).astype(np.float64) / unit
    data_range = X.max(axis=axis).astype(np.float64) / unit - data_min
    scaling = InputScaling(
        image_shape, data_min, np.where(data_range > 0, data_range, 1.0)
    )
    return scaling, scaling.apply(X, channels_last)


def training_input(estimator, X, scaling=None, *, seed):
    """``fit``'s one call: validated, scaled, split training data.

    Learns the scaling of ``X`` (``scaling=None``), or applies a fitted one
    (further training with ``warm_start``). In-memory data is converted to
    float32 once, so that it moves to the device once; a memmap stays on disk
    and is read and converted one batch at a time. ``seed`` draws the rows held
    out for early stopping (the estimator's ``validation_fraction``).

    Returns ``(scaling, data, train, valid)``: ``data`` all rows, ``valid``
    None without a hold-out.
    """
    if scaling is None:
        scaling, data = learn_input(estimator, X)
    else:
        data = scoring_input(estimator, X, scaling)
    if not isinstance(X, np.memmap):
        data = data[:]
    train, valid = holdout(data, estimator.validation_fraction, seed)
    return scaling, data, train, valid


def scoring_input(estimator, X, scaling):
    """Validate ``X`` against the fitted input; errors name the fitted input.

    Returns a ``NetworkInput``: rows are converted one batch at a time, so
    scoring memory grows with the batch size, not with ``X``.
    """
    name = type(estimator).__name__
    fitted = (
        f"images of shape {scaling.image_shape}"
        if scaling.image_shape is not None
        else f"a table with {estimator.n_features_in_} features"
    )
    try:
        X, image_shape, channels_last = _flatten(X, estimator.image_layout)
    except ValueError as exc:
        raise ValueError(f"{exc} {name} was fitted on {fitted}.") from exc
    if image_shape is not None and image_shape != scaling.image_shape:
        raise ValueError(
            f"X holds images of shape {image_shape}, but {name} was fitted on {fitted}."
        )
    X = _check_float32_range(
        validate_data(estimator, X, reset=False, dtype=_KEPT_DTYPES)
    )
    return scaling.apply(X, channels_last)


def holdout(data, fraction, seed):
    """Split ``fraction`` of the rows off ``data`` for early stopping.

    Returns ``(train, valid)``, ``valid`` None without a fraction. A
    ``NetworkInput`` is split into two, copying only its raw rows.
    """
    if fraction is None:
        return data, None
    n_samples = len(data)
    n_valid = int(np.ceil(fraction * n_samples))
    if n_samples - n_valid < 2:
        raise ValueError(
            f"validation_fraction={fraction} leaves {n_samples - n_valid} of "
            f"{n_samples} samples for training; at least 2 are needed."
        )
    order = np.random.RandomState(seed).permutation(n_samples)
    valid_rows, train_rows = np.sort(order[:n_valid]), np.sort(order[n_valid:])
    if isinstance(data, NetworkInput):
        return data.subset(train_rows), data.subset(valid_rows)
    return data[train_rows], data[valid_rows]


def _flatten(X, layout):
    """``flatten_images``, but a channels-last memmap keeps its row order.

    Returns ``(X_2d, image_shape, channels_last)``. Moving the channel axis of a
    memmap would read all of it into memory; its rows are reordered one batch at
    a time instead.
    """
    if isinstance(X, np.memmap):
        rows = channels_last_rows(X, layout)
        if rows is not None:
            return (*rows, True)
    X, image_shape = flatten_images(X, layout)
    if getattr(X, "dtype", np.dtype(float)).kind in "mM":
        # NumPy would cast them to their integer ticks without a word.
        raise TypeError(
            f"X has dtype {X.dtype}: dates and time spans are not numeric "
            "features; convert them (e.g. to elapsed seconds) first."
        )
    return X, image_shape, False


def _check_float32_range(X):
    """Reject values the float32 networks would see as infinity, as sklearn would."""
    if X.dtype == np.float64 and X.size:
        largest = max(X.max(), -X.min())
        if largest > np.finfo(np.float32).max:
            raise ValueError(
                "Input X contains infinity or a value too large for "
                f"dtype('float32'): largest magnitude {largest:.3g}."
            )
    return X


def _image_shape(requested, image_shape, n_features):
    """The image shape of the input: found in ``X``, or the ``image_shape`` asked."""
    if requested is None:
        return image_shape
    requested = tuple(requested)
    if image_shape is not None:
        if requested != image_shape:
            raise ValueError(
                f"image_shape={requested} does not match the images in X, "
                f"which have shape {image_shape}."
            )
        return image_shape
    if len(requested) != 3 or int(np.prod(requested)) != n_features:
        raise ValueError(
            f"image_shape={requested} must be (C, H, W) with C * H * W equal "
            f"to the number of features of X, {n_features}."
        )
    return tuple(int(s) for s in requested)
