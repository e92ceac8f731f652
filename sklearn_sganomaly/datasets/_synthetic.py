# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Synthetic defects pasted on normal images."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "n_normal": [Interval(Integral, 0, None, closed="left")],
        "n_defect": [Interval(Integral, 0, None, closed="left")],
        "image_size": [Interval(Integral, 8, None, closed="left")],
        "n_channels": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_synthetic_defects(
    n_normal: int = 200,
    n_defect: int = 50,
    *,
    image_size: int = 32,
    n_channels: int = 1,
    defect_size: int | tuple[int, int] | None = None,
    random_state=None,
) -> Bunch:
    """Generate textured images, some with a local defect, and defect masks.

    Every image is a smooth texture: diagonal sinusoidal stripes (angle jittered
    by up to +-0.15 rad) times a weave of sinusoidal blobs, each with a random
    phase, plus mild Gaussian noise, with values within 24..231. Defective
    images get either a filled rectangle or a thin straight scratch whose pixels
    are set to a dark (0..12) or bright (243..255) value, so every defect pixel
    differs from the clean texture. The first ``n_normal`` images are normal,
    the remaining ``n_defect`` defective.

    Parameters
    ----------
    n_normal : int, default=200
        Number of defect-free images.
    n_defect : int, default=50
        Number of defective images.
    image_size : int, default=32
        Height and width of the images, at least 8.
    n_channels : int, default=1
        Number of channels. With more than one, the texture contrast decreases
        from the first to the last channel, so channels are not identical.
    defect_size : int or tuple of (int, int), default=None
        Side length range ``(min, max)`` of rectangles in pixels (scratches are
        twice as long). An int gives a fixed size. None means
        ``(max(1, image_size // 10), max(2, image_size // 4))``.
    random_state : int, RandomState instance or None, default=None
        Determines all random draws. Pass an int for reproducible output.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        X : ndarray of shape (n_normal + n_defect, n_channels, image_size, \
image_size), uint8
            The images, normal first.
        y : ndarray of shape (n_normal + n_defect,), int64
            0 for normal, 1 for defective.
        masks : ndarray of shape (n_normal + n_defect, image_size, image_size), \
uint8
            1 where a pixel belongs to the defect; all zero for normal images.
        X_clean : ndarray of the same shape as ``X``, uint8
            The images without defects (equal to ``X`` for normal images).
        defect_type : ndarray of shape (n_normal + n_defect,), str
            ``"good"``, ``"rectangle"`` or ``"scratch"``.

    Examples
    --------
    >>> from sklearn_sganomaly.datasets import make_synthetic_defects
    >>> data = make_synthetic_defects(n_normal=8, n_defect=4, random_state=0)
    >>> data.X.shape, data.X.dtype, data.y.tolist()
    ((12, 1, 32, 32), dtype('uint8'), [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    >>> bool(((data.X != data.X_clean).any(axis=1) == data.masks).all())
    True
    """
    if n_normal + n_defect == 0:
        raise ValueError("n_normal + n_defect must be positive, got 0 images.")
    if defect_size is None:
        defect_size = (max(1, image_size // 10), max(2, image_size // 4))
    sizes = (
        (defect_size, defect_size) if isinstance(defect_size, Integral) else defect_size
    )
    if not (
        isinstance(sizes, tuple | list)
        and len(sizes) == 2
        and all(isinstance(v, Integral) for v in sizes)
        and 1 <= sizes[0] <= sizes[1] <= image_size // 2
    ):
        raise ValueError(
            f"defect_size must be an int or (min, max) with 1 <= min <= max <= "
            f"image_size // 2 = {image_size // 2}, got {defect_size!r}."
        )
    lo, hi = sizes

    rng = check_random_state(random_state)
    n, m, s = n_normal + n_defect, n_defect, image_size
    rows, cols = np.mgrid[0:s, 0:s].astype(np.float64)

    # Texture: sizes are relative to the image so it looks alike at any resolution.
    angle = np.pi / 4 + rng.uniform(-0.15, 0.15, n)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, (3, n))[:, :, None, None]
    u = (cols * np.cos(angle) + rows * np.sin(angle)) / s
    stripes = np.sin(2 * np.pi * 4 * u + phase[0])
    blobs = np.sin(2 * np.pi * 2 * cols / s + phase[1]) * np.sin(
        2 * np.pi * 2 * rows / s + phase[2]
    )
    texture = 55 * stripes + 25 * blobs
    gains = np.linspace(1.0, 0.7, n_channels)[None, :, None, None]
    noise = rng.normal(0.0, 6.0, (n, n_channels, s, s))
    # Clipping to 24..231 keeps a margin from the defect values below.
    X_clean = np.clip(np.rint(128 + gains * texture[:, None] + noise), 24, 231)
    X_clean = X_clean.astype(np.uint8)

    # Rectangles and scratches are drawn for every defect; `is_scratch` picks one.
    is_scratch = rng.random_sample(m) < 0.5
    height, width = rng.randint(lo, hi + 1, (2, m))
    top, left = rng.randint(0, s - height + 1), rng.randint(0, s - width + 1)
    r, c = rows[None], cols[None]
    rect = (
        (r >= top[:, None, None])
        & (r < (top + height)[:, None, None])
        & (c >= left[:, None, None])
        & (c < (left + width)[:, None, None])
    )
    half = np.minimum(rng.uniform(lo, hi, m), (s - 1) / 2)
    theta = rng.uniform(0, np.pi, m)
    center_r = rng.uniform(half, s - 1 - half)
    center_c = rng.uniform(half, s - 1 - half)
    dr, dc = np.sin(theta)[:, None, None], np.cos(theta)[:, None, None]
    pr, pc = r - center_r[:, None, None], c - center_c[:, None, None]
    t = np.clip(pr * dr + pc * dc, -half[:, None, None], half[:, None, None])
    # 0.75 > sqrt(2) / 2, so a segment always covers at least one pixel centre.
    scratch = (pr - t * dr) ** 2 + (pc - t * dc) ** 2 <= 0.75**2
    defect_masks = np.where(is_scratch[:, None, None], scratch, rect)

    dark = rng.random_sample(m) < 0.5
    value = np.where(dark, rng.randint(0, 13, m), rng.randint(243, 256, m))
    X = X_clean.copy()
    X[n_normal:] = np.where(
        defect_masks[:, None], value[:, None, None, None].astype(np.uint8), X[n_normal:]
    )

    masks = np.zeros((n, s, s), dtype=np.uint8)
    masks[n_normal:] = defect_masks
    y = np.zeros(n, dtype=np.int64)
    y[n_normal:] = 1
    defect_type = np.array(["good"] * n_normal, dtype="<U9")
    defect_type = np.concatenate(
        [defect_type, np.where(is_scratch, "scratch", "rectangle")]
    )
    return Bunch(X=X, y=y, masks=masks, X_clean=X_clean, defect_type=defect_type)
