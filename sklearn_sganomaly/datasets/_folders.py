# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""MVTec AD style image folders, read with Pillow.

The loader scans the layout, checks every image's header (mode and size)
before decoding any, reads the images, then the masks.
"""

from __future__ import annotations

import os
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_GRAY_MODES = ("1", "L", "LA")
_LAYOUT = "path/train/good/*.png and path/test/<defect type>/*.png (MVTec AD)"


def _import_pillow():
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(
            "load_image_folder needs Pillow to read images. Install it with: "
            'pip install "sklearn-sganomaly[images]"'
        ) from exc
    return Image


def _list_images(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES
    )


def _check_size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    hw = (size, size) if isinstance(size, Integral) else size
    if len(hw) != 2 or not all(isinstance(v, Integral) and v > 0 for v in hw):
        raise ValueError(
            f"size must be None, a positive int or a (height, width) pair of "
            f"positive ints, got {size!r}."
        )
    return int(hw[0]), int(hw[1])


def _scan(root: Path) -> tuple[list[Path], list[Path], list[str]]:
    """Training files, test files and each test file's defect type."""
    train_dir, test_dir = root / "train" / "good", root / "test"
    for folder in (train_dir, test_dir):
        if not folder.is_dir():
            raise FileNotFoundError(
                f"Folder {folder} not found; load_image_folder expects {_LAYOUT}."
            )
    train_files = _list_images(train_dir)
    test_files, defect_type = [], []
    for sub in sorted(d for d in test_dir.iterdir() if d.is_dir()):
        for file in _list_images(sub):
            test_files.append(file)
            defect_type.append(sub.name)
    for files, folder in ((train_files, train_dir), (test_files, test_dir)):
        if not files:
            raise FileNotFoundError(
                f"No images ({', '.join(_IMAGE_SUFFIXES)}) found in {folder}."
            )
    return train_files, test_files, defect_type


def _check_headers(Image, files, root, size_hw, color_mode) -> str:
    """Pillow mode to read ``files`` in; sizes must agree unless resized.

    Only headers are read, so a mismatch fails before any image is decoded.
    """
    modes, sizes = [], []
    for file in files:
        with Image.open(file) as im:
            modes.append(im.mode)
            sizes.append(im.size)
    if color_mode == "auto":
        color_mode = "gray" if all(m in _GRAY_MODES for m in modes) else "rgb"
    if size_hw is None and len(set(sizes)) > 1:
        odd = next(i for i, wh in enumerate(sizes) if wh != sizes[0])
        counts = {(h, w): 0 for w, h in sizes}
        for w, h in sizes:
            counts[(h, w)] += 1
        raise ValueError(
            f"Images in {root} have different sizes (height, width): {counts}, "
            f"e.g. {files[0]} is {sizes[0][::-1]} but {files[odd]} is "
            f"{sizes[odd][::-1]}. Pass size=(height, width) to resize them to a "
            "common size."
        )
    return "L" if color_mode == "gray" else "RGB"


def _read(Image, file, mode, size_hw, resample) -> np.ndarray:
    with Image.open(file) as im:
        im = im.convert(mode)
        if size_hw is not None and im.size != size_hw[::-1]:
            im = im.resize(size_hw[::-1], resample)
        return np.asarray(im, dtype=np.uint8)


def _read_images(Image, files, mode, size_hw) -> np.ndarray:
    """uint8 images of shape (n, C, H, W)."""
    X = np.stack(
        [_read(Image, f, mode, size_hw, Image.Resampling.BILINEAR) for f in files]
    )
    return X[:, np.newaxis] if X.ndim == 3 else X.transpose(0, 3, 1, 2).copy()


def _read_masks(Image, root, test_files, defect_type, shape, size_hw):
    """Binary masks of the test images, or None without ``root/ground_truth``."""
    gt_dir = root / "ground_truth"
    if not gt_dir.is_dir():
        return None
    masks = np.zeros((len(test_files), *shape), dtype=np.uint8)
    no_mask = []
    for i, (file, kind) in enumerate(zip(test_files, defect_type, strict=True)):
        if kind == "good":
            continue
        mask_file = gt_dir / kind / f"{file.stem}_mask.png"
        if not mask_file.is_file():
            no_mask.append(mask_file)
            continue
        mask = _read(Image, mask_file, "L", size_hw, Image.Resampling.NEAREST)
        if mask.shape != masks.shape[1:]:
            raise ValueError(
                f"Mask {mask_file} has size {mask.shape}, but its image {file} "
                f"has size {masks.shape[1:]}. Pass size=... to resize both."
            )
        masks[i] = mask > 0
    if no_mask:
        warnings.warn(
            f"{len(no_mask)} defective test image(s) have no mask file, e.g. "
            f"{no_mask[0]}; their masks are all zero.",
            UserWarning,
            stacklevel=4,  # _read_masks, the loader, its validate_params wrapper
        )
    return masks


@validate_params(
    {
        "path": [str, os.PathLike],
        "size": [Interval(Integral, 1, None, closed="left"), tuple, list, None],
        "color_mode": [StrOptions({"auto", "gray", "rgb"})],
    },
    prefer_skip_nested_validation=True,
)
def load_image_folder(
    path: str | os.PathLike,
    *,
    size: int | tuple[int, int] | None = None,
    color_mode: str = "auto",
) -> Bunch:
    """Load an image anomaly data set in the MVTec AD folder layout.

    Expected layout (files are read in sorted order)::

        path/train/good/*.png                       normal training images
        path/test/<defect type or good>/*.png       test images
        path/ground_truth/<defect type>/<name>_mask.png   defect masks (optional)

    Other common image formats (``.jpg``, ``.bmp``, ``.tif``) are read too.
    Requires Pillow (``pip install "sklearn-sganomaly[images]"``).

    Parameters
    ----------
    path : str or path-like
        Root folder of one category, e.g. ``mvtec_anomaly_detection/bottle``.
    size : int or tuple of (int, int), default=None
        Resize every image to ``(size, size)`` or ``(height, width)``: images
        bilinearly (with Pillow's antialiasing), masks with nearest neighbour.
        If None, all images must already have the same size.
    color_mode : {"auto", "gray", "rgb"}, default="auto"
        ``"gray"`` gives 1 channel, ``"rgb"`` 3 channels. ``"auto"`` gives 1
        channel when every image is grayscale and 3 channels otherwise.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        X_train : ndarray of shape (n_train, n_channels, height, width), uint8
            The normal training images.
        X_test : ndarray of shape (n_test, n_channels, height, width), uint8
            The test images, grouped by sorted defect type.
        y_test : ndarray of shape (n_test,), int64
            0 for ``good`` test images, 1 for defective ones.
        defect_type : ndarray of shape (n_test,), str
            Name of the test sub-folder of each test image (``"good"``, ...).
        masks_test : ndarray of shape (n_test, height, width), uint8, or None
            Binary (0/1) defect masks. All zero for good images and for defect
            images without a mask file (a warning lists the latter). None when
            ``path/ground_truth`` does not exist.
        filenames_train : list of str
            Training image paths relative to ``path`` (POSIX style).
        filenames_test : list of str
            Test image paths relative to ``path`` (POSIX style).

    Raises
    ------
    FileNotFoundError
        If ``path/train/good`` or ``path/test`` is missing or holds no images.
    ValueError
        If images (or an image and its mask) differ in size and ``size`` is None,
        or if ``size`` / ``color_mode`` is invalid.
    ImportError
        If Pillow is not installed.

    Examples
    --------
    >>> from sklearn_sganomaly.datasets import load_image_folder
    >>> data = load_image_folder("mvtec/bottle", size=64)  # doctest: +SKIP
    >>> data.X_train.shape, data.X_test.shape  # doctest: +SKIP
    ((209, 3, 64, 64), (83, 3, 64, 64))
    """
    size_hw = _check_size(size)
    Image = _import_pillow()
    root = Path(path).expanduser()
    train_files, test_files, defect_type = _scan(root)
    mode = _check_headers(Image, train_files + test_files, root, size_hw, color_mode)
    X_train = _read_images(Image, train_files, mode, size_hw)
    X_test = _read_images(Image, test_files, mode, size_hw)
    return Bunch(
        X_train=X_train,
        X_test=X_test,
        y_test=np.array([d != "good" for d in defect_type], dtype=np.int64),
        defect_type=np.array(defect_type, dtype=str),
        masks_test=_read_masks(
            Image, root, test_files, defect_type, X_test.shape[2:], size_hw
        ),
        filenames_train=[f.relative_to(root).as_posix() for f in train_files],
        filenames_test=[f.relative_to(root).as_posix() for f in test_files],
    )
