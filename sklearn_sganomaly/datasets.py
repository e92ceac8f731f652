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

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import warnings
import zlib
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch, check_random_state

__all__ = [
    "load_fashion_mnist",
    "load_idx",
    "load_image_folder",
    "load_mnist",
    "make_one_class_split",
    "make_synthetic_defects",
]

DATA_HOME_ENV = "SKLEARN_SGANOMALY_DATA"

# IDX type codes (third byte of the magic number); multi-byte values are big-endian.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# md5 of the official distribution files (the values torchvision also checks).
_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_GRAY_MODES = ("1", "L", "LA")


# --------------------------------------------------------------------------- IDX


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST file format) into a numpy array.

    The file may be gzip-compressed or not; compression is detected from the
    content, not from the file name.

    Parameters
    ----------
    path : str or path-like
        The IDX file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    data : ndarray
        Array with the shape and dtype given by the file header, in native byte
        order (e.g. ``uint8`` of shape ``(60000, 28, 28)`` for MNIST images).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a valid IDX file: bad magic number, unknown type code,
        truncated header or data, trailing bytes, or broken gzip stream.

    Examples
    --------
    >>> import gzip, struct, tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sklearn_sganomaly.datasets import load_idx
    >>> labels = np.array([3, 1, 4], dtype=np.uint8)
    >>> header = struct.pack(">HBBI", 0, 0x08, 1, labels.size)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "labels-idx1-ubyte.gz"
    ...     _ = path.write_bytes(gzip.compress(header + labels.tobytes()))
    ...     load_idx(path)
    array([3, 1, 4], dtype=uint8)
    """
    path = Path(path)
    return _parse_idx(_gunzip_if_needed(path.read_bytes(), path), path)


def _gunzip_if_needed(raw: bytes, path: Path) -> bytes:
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is a corrupt or truncated gzip file: {exc}") from exc


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    if len(data) < 4:
        raise ValueError(
            f"{path} is not an IDX file: it has {len(data)} bytes, fewer than the "
            "4-byte magic number."
        )
    if data[:2] != b"\x00\x00":
        raise ValueError(
            f"{path} is not an IDX file: its magic number starts with {data[:2]!r}, "
            "expected two zero bytes."
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(
            f"{path} has an unknown IDX data type code 0x{code:02X} "
            f"(known codes: {known})."
        )
    if ndim == 0:
        raise ValueError(f"{path} is not a valid IDX file: its header says 0 dims.")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{path} is truncated: the header announces {ndim} dims "
            f"({header_size} header bytes) but the file has only {len(data)} bytes."
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header_size
    if actual != expected:
        problem = "truncated" if actual < expected else "corrupt (trailing bytes)"
        raise ValueError(
            f"{path} is {problem}: its header says shape {shape} of {dtype.name}, "
            f"i.e. {expected} data bytes, but the file has {actual} data bytes."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    # astype copies, so the result is writable and in native byte order.
    return array.astype(dtype.newbyteorder("="))


# ----------------------------------------------------------------- MNIST family


def load_mnist(
    data_home: str | os.PathLike | None = None,
    *,
    subset: str = "train",
    verify_checksum: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST from the original IDX files on disk (never downloads).

    The files ``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz``
    (or ``t10k-...`` for ``subset="test"``) are read from ``<data_home>/mnist/``,
    or from ``data_home`` itself when it directly contains them.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that holds ``mnist/`` (or the MNIST files themselves). If None,
        the environment variable ``SKLEARN_SGANOMALY_DATA`` is used.
    subset : {"train", "test"}, default="train"
        Which split to load: 60000 training or 10000 test images.
    verify_checksum : bool, default=True
        Check the md5 of each file against the official distribution file.

    Returns
    -------
    X : ndarray of shape (n_samples, 1, 28, 28), dtype uint8
        The images, channels first.
    y : ndarray of shape (n_samples,), dtype int64
        The digit labels 0-9.

    Raises
    ------
    FileNotFoundError
        If no data folder is given and ``SKLEARN_SGANOMALY_DATA`` is unset, or if
        a file is missing; the message says where the loader looked.
    ValueError
        If ``subset`` is invalid, a checksum does not match, or a file is corrupt.

    See Also
    --------
    load_fashion_mnist : The same for Fashion-MNIST.
    make_one_class_split : Turn a labelled data set into a one-class benchmark.

    Examples
    --------
    >>> from sklearn_sganomaly.datasets import load_mnist
    >>> X, y = load_mnist("/path/to/datasets", subset="test")  # doctest: +SKIP
    >>> X.shape, X.dtype, y.shape  # doctest: +SKIP
    ((10000, 1, 28, 28), dtype('uint8'), (10000,))
    """
    return _load_idx_pair(
        "MNIST", "mnist", _MNIST_MD5, data_home, subset, verify_checksum
    )


def load_fashion_mnist(
    data_home: str | os.PathLike | None = None,
    *,
    subset: str = "train",
    verify_checksum: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST from the original IDX files on disk (never downloads).

    The files ``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz``
    (or ``t10k-...`` for ``subset="test"``) are read from
    ``<data_home>/fashion-mnist/``, or from ``data_home`` itself when it directly
    contains them.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that holds ``fashion-mnist/`` (or the files themselves). If None,
        the environment variable ``SKLEARN_SGANOMALY_DATA`` is used.
    subset : {"train", "test"}, default="train"
        Which split to load: 60000 training or 10000 test images.
    verify_checksum : bool, default=True
        Check the md5 of each file against the official distribution file.

    Returns
    -------
    X : ndarray of shape (n_samples, 1, 28, 28), dtype uint8
        The images, channels first.
    y : ndarray of shape (n_samples,), dtype int64
        The labels 0-9: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal,
        Shirt, Sneaker, Bag, Ankle boot.

    Raises
    ------
    FileNotFoundError
        If no data folder is given and ``SKLEARN_SGANOMALY_DATA`` is unset, or if
        a file is missing; the message says where the loader looked.
    ValueError
        If ``subset`` is invalid, a checksum does not match, or a file is corrupt.

    See Also
    --------
    load_mnist : The same for MNIST.

    Examples
    --------
    >>> from sklearn_sganomaly.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(subset="test")  # doctest: +SKIP
    >>> X.shape, y[:5]  # doctest: +SKIP
    ((10000, 1, 28, 28), array([9, 2, 1, 1, 6]))
    """
    return _load_idx_pair(
        "Fashion-MNIST",
        "fashion-mnist",
        _FASHION_MNIST_MD5,
        data_home,
        subset,
        verify_checksum,
    )


def _load_idx_pair(name, subdir, checksums, data_home, subset, verify_checksum):
    if subset not in _IDX_FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    files = _IDX_FILES[subset]
    folder = _find_data_folder(name, subdir, files, data_home)
    arrays = []
    for filename in files:
        path = folder / filename
        raw = path.read_bytes()
        if verify_checksum:
            actual = hashlib.md5(raw, usedforsecurity=False).hexdigest()
            if actual != checksums[filename]:
                raise ValueError(
                    f"Checksum mismatch for {path}: expected md5 "
                    f"{checksums[filename]} (official {name} file), got {actual}. "
                    "The file is damaged or not the original; replace it, or pass "
                    "verify_checksum=False to load it anyway."
                )
        arrays.append(_parse_idx(_gunzip_if_needed(raw, path), path))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{name} files in {folder} do not fit together: images have shape "
            f"{images.shape}, labels {labels.shape}; expected (n, H, W) and (n,)."
        )
    return images[:, np.newaxis], labels.astype(np.int64)


def _find_data_folder(name, subdir, files, data_home):
    from_env = data_home is None
    if from_env:
        data_home = os.environ.get(DATA_HOME_ENV)
        if not data_home:
            raise FileNotFoundError(
                f"No data folder for {name}: pass data_home=... or set the "
                f"environment variable {DATA_HOME_ENV} to a folder that contains "
                f"{subdir}/{files[0]} and {subdir}/{files[1]}. "
                "Nothing is downloaded."
            )
    home = Path(data_home).expanduser()
    candidates = [home / subdir, home]
    for folder in candidates:
        if all((folder / f).is_file() for f in files):
            return folder
    # Point at the folder the user most likely meant, so the message is actionable.
    target = candidates[0]
    if not target.is_dir() and any((home / f).is_file() for f in files):
        target = home
    missing = [f for f in files if not (target / f).is_file()]
    source = f"{DATA_HOME_ENV}={home}" if from_env else f"data_home={home}"
    raise FileNotFoundError(
        f"{name} file {missing[0]!r} not found (looked in {candidates[0]} and "
        f"{candidates[1]}, from {source}). Put the original {name} files "
        f"{', '.join(missing)} in {target}, or point data_home / {DATA_HOME_ENV} "
        f"at the folder that contains {subdir}/. Nothing is downloaded."
    )


# ------------------------------------------------------------------ image folder


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
    if (
        not isinstance(hw, tuple | list)
        or len(hw) != 2
        or not all(isinstance(v, Integral) and v > 0 for v in hw)
    ):
        raise ValueError(
            f"size must be None, a positive int or a (height, width) pair of "
            f"positive ints, got {size!r}."
        )
    return int(hw[0]), int(hw[1])


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
    if color_mode not in ("auto", "gray", "rgb"):
        raise ValueError(
            f"color_mode must be 'auto', 'gray' or 'rgb', got {color_mode!r}."
        )
    size_hw = _check_size(size)
    Image = _import_pillow()

    root = Path(path).expanduser()
    train_dir, test_dir = root / "train" / "good", root / "test"
    layout = "path/train/good/*.png and path/test/<defect type>/*.png (MVTec AD)"
    for folder in (train_dir, test_dir):
        if not folder.is_dir():
            raise FileNotFoundError(
                f"Folder {folder} not found; load_image_folder expects {layout}."
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

    # First pass reads only headers, so mode and size checks fail before any decoding.
    modes, sizes = [], []
    for file in train_files + test_files:
        with Image.open(file) as im:
            modes.append(im.mode)
            sizes.append(im.size)
    if color_mode == "auto":
        color_mode = "gray" if all(m in _GRAY_MODES for m in modes) else "rgb"
    pil_mode = "L" if color_mode == "gray" else "RGB"
    if size_hw is None and len(set(sizes)) > 1:
        files = train_files + test_files
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

    def read(file, mode, resample):
        with Image.open(file) as im:
            im = im.convert(mode)
            if size_hw is not None and im.size != size_hw[::-1]:
                im = im.resize(size_hw[::-1], resample)
            return np.asarray(im, dtype=np.uint8)

    def read_images(files):
        arrays = [read(f, pil_mode, Image.Resampling.BILINEAR) for f in files]
        X = np.stack(arrays)
        return X[:, np.newaxis] if X.ndim == 3 else X.transpose(0, 3, 1, 2).copy()

    X_train, X_test = read_images(train_files), read_images(test_files)
    y_test = np.array([d != "good" for d in defect_type], dtype=np.int64)

    masks_test = None
    gt_dir = root / "ground_truth"
    if gt_dir.is_dir():
        masks_test = np.zeros((len(test_files), *X_test.shape[2:]), dtype=np.uint8)
        no_mask = []
        for i, (file, kind) in enumerate(zip(test_files, defect_type, strict=True)):
            if kind == "good":
                continue
            mask_file = gt_dir / kind / f"{file.stem}_mask.png"
            if not mask_file.is_file():
                no_mask.append(mask_file)
                continue
            mask = read(mask_file, "L", Image.Resampling.NEAREST)
            if mask.shape != masks_test.shape[1:]:
                raise ValueError(
                    f"Mask {mask_file} has size {mask.shape}, but its image {file} "
                    f"has size {masks_test.shape[1:]}. Pass size=... to resize both."
                )
            masks_test[i] = mask > 0
        if no_mask:
            warnings.warn(
                f"{len(no_mask)} defective test image(s) have no mask file, e.g. "
                f"{no_mask[0]}; their masks are all zero.",
                UserWarning,
                stacklevel=2,
            )

    return Bunch(
        X_train=X_train,
        X_test=X_test,
        y_test=y_test,
        defect_type=np.array(defect_type, dtype=str),
        masks_test=masks_test,
        filenames_train=[f.relative_to(root).as_posix() for f in train_files],
        filenames_test=[f.relative_to(root).as_posix() for f in test_files],
    )


# ------------------------------------------------------------- one-class split


def make_one_class_split(
    X,
    y,
    *,
    anomaly_class,
    protocol: str = "official",
    X_test=None,
    y_test=None,
    test_size: float | int | None = None,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn a labelled multi-class data set into a one-class anomaly benchmark.

    Follows the protocol of GANomaly / Skip-GANomaly (Akçay et al.): one class,
    ``anomaly_class``, is the anomaly and all other classes are normal. The model
    is trained on the normal classes' training samples only.

    - ``protocol="official"`` (as in the papers' code): the test set is the
      normal classes' test samples, followed by the anomaly class's training
      samples, followed by the anomaly class's test samples.
    - ``protocol="clean"``: the test set is the normal classes' test samples
      followed by the anomaly class's test samples only, so no test sample comes
      from the training split.

    Within each group the original order is kept; normal samples come first.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Training samples of the labelled data set, e.g. images of shape
        ``(n, C, H, W)``.
    y : array-like of shape (n_samples,)
        Class labels of ``X``.
    anomaly_class : int or str
        The label that plays the anomaly.
    protocol : {"official", "clean"}, default="official"
        How the test set is built, see above.
    X_test : array-like of shape (n_test_samples, ...), default=None
        The data set's own test samples. Give it together with ``y_test``.
    y_test : array-like of shape (n_test_samples,), default=None
        Class labels of ``X_test``.
    test_size : float or int, default=None
        Only for data sets without their own test split (e.g.
        :func:`sklearn.datasets.load_digits`): when ``X_test`` and ``y_test`` are
        not given, ``X, y`` are first split into training and test parts with
        :func:`~sklearn.model_selection.train_test_split` (stratified by ``y``)
        using this ``test_size``, and the protocol is applied to those parts. It
        is required in that case, so the split is always explicit.
    random_state : int, RandomState instance or None, default=None
        Seed of that stratified split; pass an int for reproducible output. Not
        used when ``X_test`` is given.

    Returns
    -------
    X_train : ndarray of shape (n_train, ...)
        Normal training samples (their labels are all 0).
    X_test : ndarray of shape (n_test, ...)
        Test samples, normal first.
    y_test : ndarray of shape (n_test,), int64
        0 for normal, 1 for anomaly.

    Raises
    ------
    ValueError
        If ``protocol`` is unknown, ``anomaly_class`` is not among the labels,
        only one of ``X_test`` / ``y_test`` is given, or neither a test split nor
        ``test_size`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_sganomaly.datasets import make_one_class_split
    >>> X, y = np.arange(6).reshape(6, 1), np.array([0, 1, 2, 0, 1, 2])
    >>> X_test, y_test = np.arange(10, 13).reshape(3, 1), np.array([0, 1, 2])
    >>> X_tr, X_te, y_te = make_one_class_split(
    ...     X, y, anomaly_class=2, X_test=X_test, y_test=y_test)
    >>> X_tr.ravel(), X_te.ravel(), y_te
    (array([0, 1, 3, 4]), array([10, 11,  2,  5, 12]), array([0, 0, 1, 1, 1]))

    Without a given test split, e.g. for scikit-learn's 8x8 digits:

    >>> from sklearn.datasets import load_digits
    >>> digits = load_digits()
    >>> X = digits.images.astype(np.uint8)[:, np.newaxis]
    >>> X_tr, X_te, y_te = make_one_class_split(
    ...     X, digits.target, anomaly_class=0, protocol="clean",
    ...     test_size=0.25, random_state=0)
    >>> X_tr.shape, X_te.shape, int(y_te.sum())
    ((1214, 1, 8, 8), (450, 1, 8, 8), 45)
    """
    if protocol not in ("official", "clean"):
        raise ValueError(f"protocol must be 'official' or 'clean', got {protocol!r}.")
    X, y = np.asarray(X), np.asarray(y)
    _check_xy(X, y, "X", "y")
    if (X_test is None) != (y_test is None):
        raise ValueError("Pass both X_test and y_test, or neither.")
    if X_test is None:
        if test_size is None:
            raise ValueError(
                "No test split given: pass X_test and y_test (the data set's own "
                "test split), or test_size (and random_state) to split X, y in a "
                "stratified way first."
            )
        X, X_test, y, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=y
        )
    elif test_size is not None:
        raise ValueError(
            f"test_size={test_size!r} is only used without X_test / y_test; "
            "pass one or the other."
        )
    X_test, y_test = np.asarray(X_test), np.asarray(y_test)
    _check_xy(X_test, y_test, "X_test", "y_test")
    if X.shape[1:] != X_test.shape[1:]:
        raise ValueError(
            f"X and X_test samples differ in shape: {X.shape[1:]} vs "
            f"{X_test.shape[1:]}."
        )

    classes = np.unique(np.concatenate([y, y_test]))
    if not np.isin(anomaly_class, y):
        raise ValueError(
            f"anomaly_class={anomaly_class!r} is not among the classes present in "
            f"y: {classes.tolist()}."
        )
    if len(classes) < 2:
        raise ValueError(
            f"Need at least one normal class besides anomaly_class="
            f"{anomaly_class!r}; the only class present is {classes.tolist()}."
        )
    if protocol == "clean" and not np.isin(anomaly_class, y_test):
        raise ValueError(
            f"anomaly_class={anomaly_class!r} has no test samples, so the 'clean' "
            f"protocol has no anomalies; classes in y_test: "
            f"{np.unique(y_test).tolist()}."
        )

    train_anomaly, test_anomaly = y == anomaly_class, y_test == anomaly_class
    parts = [X_test[~test_anomaly]]
    if protocol == "official":
        parts.append(X[train_anomaly])
    parts.append(X_test[test_anomaly])
    X_out = np.concatenate(parts)
    n_normal = len(parts[0])
    y_out = np.zeros(len(X_out), dtype=np.int64)
    y_out[n_normal:] = 1
    return X[~train_anomaly], X_out, y_out


def _check_xy(X, y, x_name, y_name):
    if X.ndim < 1 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"{x_name} must have shape (n_samples, ...) and {y_name} shape "
            f"(n_samples,), got {X.shape} and {y.shape}."
        )


# ---------------------------------------------------------- synthetic defects


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
    for name, value, low in (
        ("n_normal", n_normal, 0),
        ("n_defect", n_defect, 0),
        ("image_size", image_size, 8),
        ("n_channels", n_channels, 1),
    ):
        if not isinstance(value, Integral) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
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
