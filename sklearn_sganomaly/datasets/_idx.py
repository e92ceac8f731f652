# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""IDX files and the MNIST family, read from disk; nothing is downloaded."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import StrOptions, validate_params

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


_LOADER_DOC = """Load {title} from the original IDX files on disk (never downloads).

    The files ``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz``
    (or ``t10k-...`` for ``subset="test"``) are read from ``<data_home>/{subdir}/``,
    or from ``data_home`` itself when it directly contains them.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that holds ``{subdir}/`` (or the {title} files themselves). If None,
        the environment variable ``SKLEARN_SGANOMALY_DATA`` is used.
    subset : {{"train", "test"}}, default="train"
        Which split to load: 60000 training or 10000 test images.
    verify_checksum : bool, default=True
        Check the md5 of each file against the official distribution file.

    Returns
    -------
    X : ndarray of shape (n_samples, 1, 28, 28), dtype uint8
        The images, channels first.
    y : ndarray of shape (n_samples,), dtype int64
        {labels}

    Raises
    ------
    FileNotFoundError
        If no data folder is given and ``SKLEARN_SGANOMALY_DATA`` is unset, or if
        a file is missing; the message says where the loader looked.
    ValueError
        If ``subset`` is invalid, a checksum does not match, or a file is corrupt.

    See Also
    --------
    {see_also}
    make_one_class_split : Turn a labelled data set into a one-class benchmark.

    Examples
    --------
    >>> from sklearn_sganomaly.datasets import {function}
    >>> X, y = {function}("/path/to/datasets", subset="test")  # doctest: +SKIP
    >>> X.shape, X.dtype, y.shape  # doctest: +SKIP
    ((10000, 1, 28, 28), dtype('uint8'), (10000,))
    """

# One row per loader: what its docstring says and where its files are.
_SPECS = {
    "load_mnist": {
        "title": "MNIST",
        "subdir": "mnist",
        "md5": _MNIST_MD5,
        "labels": "The digit labels 0-9.",
        "see_also": "load_fashion_mnist : The same for Fashion-MNIST.",
    },
    "load_fashion_mnist": {
        "title": "Fashion-MNIST",
        "subdir": "fashion-mnist",
        "md5": _FASHION_MNIST_MD5,
        "labels": "The labels 0-9: T-shirt/top, Trouser, Pullover, Dress, Coat, "
        "Sandal,\n        Shirt, Sneaker, Bag, Ankle boot.",
        "see_also": "load_mnist : The same for MNIST.",
    },
}


_LOADER_PARAMS = {
    "data_home": [str, os.PathLike, None],
    "subset": [StrOptions(set(_IDX_FILES))],
    "verify_checksum": ["boolean"],
}


@validate_params(_LOADER_PARAMS, prefer_skip_nested_validation=True)
def load_mnist(
    data_home: str | os.PathLike | None = None,
    *,
    subset: str = "train",
    verify_checksum: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    return _load_idx_pair("load_mnist", data_home, subset, verify_checksum)


@validate_params(_LOADER_PARAMS, prefer_skip_nested_validation=True)
def load_fashion_mnist(
    data_home: str | os.PathLike | None = None,
    *,
    subset: str = "train",
    verify_checksum: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    return _load_idx_pair("load_fashion_mnist", data_home, subset, verify_checksum)


for _loader in (load_mnist, load_fashion_mnist):
    _loader.__doc__ = _LOADER_DOC.format(
        function=_loader.__name__, **_SPECS[_loader.__name__]
    )


def _load_idx_pair(loader, data_home, subset, verify_checksum):
    spec = _SPECS[loader]
    name, subdir, checksums = spec["title"], spec["subdir"], spec["md5"]
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
