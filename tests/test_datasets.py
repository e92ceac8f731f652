# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Tests for ``sklearn_sganomaly.datasets`` (offline; nothing is downloaded)."""

import functools
import gzip
import hashlib
import re
import shutil
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sklearn_sganomaly.datasets import (
    load_fashion_mnist,
    load_idx,
    load_image_folder,
    load_mnist,
    make_one_class_split,
    make_synthetic_defects,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
ENV = "SKLEARN_SGANOMALY_DATA"
_IDX_CODES = {
    "uint8": 0x08,
    "int8": 0x09,
    "int16": 0x0B,
    "int32": 0x0C,
    "float32": 0x0D,
    "float64": 0x0E,
}


def _idx_bytes(array):
    array = np.asarray(array)
    header = struct.pack(">HBB", 0, _IDX_CODES[array.dtype.name], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write_idx(path, array, compress=True):
    data = _idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# ----------------------------------------------------------------------- IDX


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28),
        np.array([5, 0, 4, 1, 9], dtype=np.uint8),
        np.array([[-3, 7], [300, -1000]], dtype=np.int16),
        np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2),
    ],
    ids=["images-uint8", "labels-uint8", "int16", "float32"],
)
def test_load_idx_round_trip(tmp_path, array, compress):
    path = _write_idx(tmp_path / "data-idx", array, compress=compress)
    loaded = load_idx(path)
    assert loaded.dtype == array.dtype.newbyteorder("=")
    assert loaded.dtype.isnative
    assert loaded.flags.writeable
    np.testing.assert_array_equal(loaded, array)


_GOOD = _idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00", "fewer than the 4-byte magic"),
        (b"\x12\x34" + _GOOD[2:], "magic number starts with"),
        (_GOOD[:2] + b"\x42" + _GOOD[3:], "unknown IDX data type code 0x42"),
        (b"\x00\x00\x08\x00", "0 dims"),
        (_GOOD[:6], "header announces 2 dims"),
        (_GOOD[:-1], "is truncated: its header says shape (3, 4)"),
        (_GOOD + b"\x00", "trailing bytes"),
        (gzip.compress(_GOOD)[:-6], "corrupt or truncated gzip"),
    ],
    ids=["short", "magic", "dtype", "ndim0", "header", "data", "extra", "gzip"],
)
def test_load_idx_corrupt(tmp_path, data, message):
    path = tmp_path / "broken-idx.gz"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=re.escape(message)) as excinfo:
        load_idx(path)
    assert str(path) in str(excinfo.value)


def test_load_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "nope.gz")


# ------------------------------------------------------------- MNIST family

_LOADERS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _shared(name):
    folder = SHARED / name
    if not all((folder / f).is_file() for fs in _FILES.values() for f in fs):
        pytest.skip(f"real {name} files not found in {folder} (shared data sets)")
    return folder


@functools.cache
def _load_real(name, subset):
    # Cached so each real file is decompressed once per session; tests must not
    # modify the returned arrays.
    return _LOADERS[name](SHARED, subset=subset, verify_checksum=True)


@pytest.fixture(
    params=[
        ("mnist", "train"),
        ("mnist", "test"),
        ("fashion-mnist", "train"),
        ("fashion-mnist", "test"),
    ],
    ids=lambda p: "-".join(p),
)
def real_data(request):
    name, subset = request.param
    _shared(name)
    return name, subset, *_load_real(name, subset)


def test_real_data_shapes_and_balance(real_data):
    name, subset, X, y = real_data
    n = 60000 if subset == "train" else 10000
    assert X.shape == (n, 1, 28, 28)
    assert X.dtype == np.uint8
    assert y.dtype == np.int64
    assert y.shape == (n,)
    assert X.max() == 255
    assert X.min() == 0
    counts = np.bincount(y)
    assert len(counts) == 10
    if name == "fashion-mnist":
        assert (counts == n // 10).all()
    else:
        # MNIST classes are only roughly balanced (5421..6742 in train).
        assert (np.abs(counts - n / 10) < 0.15 * n / 10).all()


def test_real_data_folder_given_directly():
    folder = _shared("mnist")
    X, y = load_mnist(folder, subset="test")
    assert X.shape == (10000, 1, 28, 28)
    assert y[:5].tolist() == [7, 2, 1, 0, 4]


def test_data_home_from_environment(monkeypatch):
    _shared("fashion-mnist")
    monkeypatch.setenv(ENV, str(SHARED))
    X, y = load_fashion_mnist(subset="test")
    assert X.shape == (10000, 1, 28, 28)
    assert y[:5].tolist() == [9, 2, 1, 1, 6]


def test_no_data_home_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=ENV) as excinfo:
        load_mnist()
    assert "mnist/train-images-idx3-ubyte.gz" in str(excinfo.value)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_missing_file_message_names_the_path(tmp_path, monkeypatch, name):
    monkeypatch.setenv(ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError) as excinfo:
        _LOADERS[name](subset="test")
    message = str(excinfo.value)
    assert str(tmp_path / name) in message
    assert "t10k-images-idx3-ubyte.gz" in message
    assert ENV in message


def test_missing_label_file_is_named(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    _write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(
        FileNotFoundError, match=re.escape("'train-labels-idx1-ubyte.gz'")
    ) as e:
        load_mnist(tmp_path)
    assert f"in {folder}" in str(e.value)


def test_invalid_subset(tmp_path):
    with pytest.raises(
        ValueError, match=r"'subset' parameter of load_mnist .* Got 'val'"
    ):
        load_mnist(tmp_path, subset="val")


def _fake_mnist(folder, n=5, n_labels=None):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = rng.randint(0, 10, n_labels or n).astype(np.uint8)
    _write_idx(folder / "train-images-idx3-ubyte.gz", images)
    _write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    return images, labels


def test_fake_files_load_without_checksum(tmp_path):
    images, labels = _fake_mnist(tmp_path / "fashion-mnist")
    X, y = load_fashion_mnist(tmp_path, verify_checksum=False)
    np.testing.assert_array_equal(X[:, 0], images)
    np.testing.assert_array_equal(y, labels)
    assert X.shape == (5, 1, 28, 28)
    assert y.dtype == np.int64
    with pytest.raises(ValueError, match="Checksum mismatch"):
        load_fashion_mnist(tmp_path)


def test_images_and_labels_must_match(tmp_path):
    _fake_mnist(tmp_path, n=5, n_labels=4)
    with pytest.raises(ValueError, match="do not fit together"):
        load_mnist(tmp_path, verify_checksum=False)


def test_tampered_copy_fails_checksum(tmp_path):
    real = _shared("mnist")
    folder = tmp_path / "mnist"
    folder.mkdir()
    images, labels = _FILES["test"]
    shutil.copyfile(real / images, folder / images)
    tampered = bytearray(gzip.decompress((real / labels).read_bytes()))
    tampered[8] = (tampered[8] + 1) % 10  # change the first label
    (folder / labels).write_bytes(gzip.compress(bytes(tampered)))
    actual = hashlib.md5((folder / labels).read_bytes()).hexdigest()

    with pytest.raises(ValueError, match="Checksum mismatch") as excinfo:
        load_mnist(tmp_path, subset="test")
    message = str(excinfo.value)
    assert str(folder / labels) in message
    assert "ec29112dd5afa0611ce80d1b7f02629c" in message  # official md5
    assert actual in message
    assert "verify_checksum=False" in message

    _, y = load_mnist(tmp_path, subset="test", verify_checksum=False)
    assert y[0] == 8  # the real first test label is 7


# -------------------------------------------------------------- image folder


def _save(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def _image(value, shape=(16, 16)):
    return np.full(shape, value, dtype=np.uint8)


@pytest.fixture
def mvtec(tmp_path):
    pytest.importorskip("PIL")
    root = tmp_path / "category"
    for i in range(3):
        _save(root / "train" / "good" / f"{i:03d}.png", _image(10 + i))
    for i in range(2):
        _save(root / "test" / "good" / f"{i:03d}.png", _image(50 + i))
        _save(root / "test" / "scratch" / f"{i:03d}.png", _image(100 + i))
    mask = np.zeros((16, 16), dtype=np.uint8)
    mask[4:8, 2:12] = 255
    _save(root / "ground_truth" / "scratch" / "000_mask.png", mask)
    return root, mask // 255


def test_image_folder(mvtec):
    root, mask = mvtec
    with pytest.warns(UserWarning, match=r"1 defective test image\(s\) have no mask"):
        data = load_image_folder(root)
    assert data.X_train.shape == (3, 1, 16, 16)
    assert data.X_train.dtype == np.uint8
    assert data.X_train[:, 0, 0, 0].tolist() == [10, 11, 12]
    assert data.X_test.shape == (4, 1, 16, 16)
    assert data.X_test[:, 0, 0, 0].tolist() == [50, 51, 100, 101]
    assert data.y_test.tolist() == [0, 0, 1, 1]
    assert data.defect_type.tolist() == ["good", "good", "scratch", "scratch"]
    assert data.filenames_test == [
        "test/good/000.png",
        "test/good/001.png",
        "test/scratch/000.png",
        "test/scratch/001.png",
    ]
    assert data.filenames_train[0] == "train/good/000.png"
    assert data.masks_test.shape == (4, 16, 16)
    assert data.masks_test.dtype == np.uint8
    np.testing.assert_array_equal(data.masks_test[2], mask)
    assert not data.masks_test[[0, 1, 3]].any()


def test_image_folder_without_ground_truth(mvtec):
    root, _ = mvtec
    shutil.rmtree(root / "ground_truth")
    data = load_image_folder(root)
    assert data.masks_test is None


def test_image_folder_resize(mvtec):
    root, _ = mvtec
    with pytest.warns(UserWarning, match="no mask file") as record:
        data = load_image_folder(root, size=8)
    assert record[0].filename == __file__  # the warning points at the caller
    assert data.X_train.shape == (3, 1, 8, 8)
    assert data.masks_test.shape == (4, 8, 8)
    with pytest.warns(UserWarning, match="no mask file"):
        data = load_image_folder(root, size=(8, 12))
    assert data.X_test.shape == (4, 1, 8, 12)
    assert set(np.unique(data.masks_test)) == {0, 1}  # nearest keeps it binary
    expected = np.zeros((8, 12), dtype=np.uint8)
    expected[2:4, 1:9] = 1
    np.testing.assert_array_equal(data.masks_test[2], expected)


@pytest.mark.filterwarnings("ignore:.*no mask file")
def test_image_folder_color_modes(mvtec):
    root, _ = mvtec
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    rgb[..., 0], rgb[..., 2] = 200, 30
    _save(root / "test" / "scratch" / "002.png", rgb)

    data = load_image_folder(root)  # one color image: auto picks RGB for all
    assert data.X_train.shape == (3, 3, 16, 16)
    assert (data.X_train[:, 0] == data.X_train[:, 2]).all()  # gray → equal channels
    assert data.X_test[-1, :, 0, 0].tolist() == [200, 0, 30]

    data = load_image_folder(root, color_mode="gray")
    assert data.X_test.shape == (5, 1, 16, 16)

    (root / "test" / "scratch" / "002.png").unlink()
    assert load_image_folder(root, color_mode="rgb").X_test.shape == (4, 3, 16, 16)
    assert load_image_folder(root, color_mode="auto").X_test.shape == (4, 1, 16, 16)


def test_image_folder_mixed_sizes(mvtec):
    root, _ = mvtec
    _save(root / "train" / "good" / "003.png", _image(0, shape=(20, 16)))
    with pytest.raises(
        ValueError,
        match=r"different sizes.*\(20, 16\): 1.*003\.png is \(20, 16\).*size=",
    ):
        load_image_folder(root)
    with pytest.warns(UserWarning, match="no mask file"):
        assert load_image_folder(root, size=16).X_train.shape == (4, 1, 16, 16)


def test_image_folder_mask_size_mismatch(mvtec):
    root, _ = mvtec
    _save(root / "ground_truth" / "scratch" / "001_mask.png", _image(255, (8, 8)))
    with pytest.raises(ValueError, match=r"001_mask\.png has size"):
        load_image_folder(root)


def test_image_folder_missing_train(tmp_path, mvtec):
    root, _ = mvtec
    shutil.rmtree(root / "train" / "good")
    with pytest.raises(
        FileNotFoundError, match=re.escape(str(root / "train" / "good"))
    ):
        load_image_folder(root)
    with pytest.raises(FileNotFoundError, match="train"):
        load_image_folder(tmp_path / "does-not-exist")


def test_image_folder_empty_train(mvtec):
    root, _ = mvtec
    for file in (root / "train" / "good").iterdir():
        file.unlink()
    with pytest.raises(FileNotFoundError, match="No images"):
        load_image_folder(root)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"color_mode": "cmyk"}, "'color_mode' parameter"),
        ({"size": 0}, "'size' parameter"),
        ({"size": (8, 8, 3)}, "size must be"),
        ({"size": (8, 0)}, "size must be"),
        ({"size": 2.5}, "'size' parameter"),
    ],
)
def test_image_folder_invalid_parameters(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_image_folder(tmp_path, **kwargs)


def test_image_folder_without_pillow(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=re.escape("sklearn-sganomaly[images]")):
        load_image_folder(tmp_path)


# ---------------------------------------------------------- one-class split


@pytest.fixture
def labelled():
    # Each sample's value encodes where it came from: 1000 * split + index.
    y = np.array([0, 1, 2, 1, 0, 2, 2, 1])
    y_test = np.array([2, 0, 1, 2, 0])
    X = np.arange(len(y)).reshape(-1, 1, 1, 1)
    X_test = 1000 + np.arange(len(y_test)).reshape(-1, 1, 1, 1)
    return X, y, X_test, y_test


def test_one_class_split_official(labelled):
    X, y, X_test, y_test = labelled
    X_tr, X_te, y_te = make_one_class_split(
        X, y, anomaly_class=2, X_test=X_test, y_test=y_test
    )
    assert X_tr.ravel().tolist() == [0, 1, 3, 4, 7]
    # normal test, then anomaly train, then anomaly test
    assert X_te.ravel().tolist() == [1001, 1002, 1004, 2, 5, 6, 1000, 1003]
    assert y_te.tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
    assert y_te.dtype == np.int64
    assert X_te.shape[1:] == (1, 1, 1)


def test_one_class_split_clean(labelled):
    X, y, X_test, y_test = labelled
    X_tr, X_te, y_te = make_one_class_split(
        X, y, anomaly_class=2, protocol="clean", X_test=X_test, y_test=y_test
    )
    assert X_tr.ravel().tolist() == [0, 1, 3, 4, 7]
    assert X_te.ravel().tolist() == [1001, 1002, 1004, 1000, 1003]
    assert y_te.tolist() == [0, 0, 0, 1, 1]


def test_one_class_split_string_labels(labelled):
    X, y, X_test, y_test = labelled
    names = np.array(["cat", "dog", "cow"])
    X_tr, _, y_te = make_one_class_split(
        X, names[y], anomaly_class="dog", X_test=X_test, y_test=names[y_test]
    )
    assert len(X_tr) == 5
    assert y_te.sum() == 4


def test_one_class_split_real_sizes():
    _shared("mnist")
    X, y = _load_real("mnist", "train")
    X_test, y_test = _load_real("mnist", "test")
    n_train, n_test = np.bincount(y)[3], np.bincount(y_test)[3]
    X_tr, X_te, y_te = make_one_class_split(
        X, y, anomaly_class=3, X_test=X_test, y_test=y_test
    )
    assert len(X_tr) == 60000 - n_train
    assert len(X_te) == 10000 + n_train
    assert y_te.sum() == n_train + n_test
    assert not y_te[: 10000 - n_test].any()
    assert y_te[10000 - n_test :].all()
    np.testing.assert_array_equal(X_te[-n_test:], X_test[y_test == 3])
    _, X_te, y_te = make_one_class_split(
        X, y, anomaly_class=3, protocol="clean", X_test=X_test, y_test=y_test
    )
    assert len(X_te) == 10000
    assert y_te.sum() == n_test


def test_one_class_split_without_test_split():
    digits = load_digits()
    X = digits.images.astype(np.uint8)[:, np.newaxis]
    y = digits.target
    kwargs = dict(anomaly_class=4, test_size=0.25, random_state=0)
    X_tr, X_te, y_te = make_one_class_split(X, y, protocol="clean", **kwargs)
    X_tr2, X_te2, _ = make_one_class_split(X, y, protocol="clean", **kwargs)
    np.testing.assert_array_equal(X_tr, X_tr2)
    np.testing.assert_array_equal(X_te, X_te2)
    assert X_te.shape == (450, 1, 8, 8)  # ceil(0.25 * 1797)
    n_anomaly = (y == 4).sum()
    assert abs(y_te.sum() - 0.25 * n_anomaly) <= 1  # stratified

    # Track sample identities by splitting indices the same way.
    index = np.arange(len(y))
    idx_tr, idx_te, y_te = make_one_class_split(index, y, protocol="clean", **kwargs)
    np.testing.assert_array_equal(X[idx_te], X_te)
    assert not (y[idx_tr] == 4).any()
    np.testing.assert_array_equal(y_te, y[idx_te] == 4)
    assert not set(idx_tr) & set(idx_te)
    assert len(idx_tr) == len(y) - 450 - (n_anomaly - y_te.sum())

    idx_tr_off, idx_te_off, y_te_off = make_one_class_split(
        index, y, protocol="official", **kwargs
    )
    np.testing.assert_array_equal(idx_tr_off, idx_tr)
    assert y_te_off.sum() == n_anomaly  # every 4 ends up in the test set
    assert set(idx_te_off) == set(idx_te) | set(index[y == 4])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"anomaly_class": 7}, r"anomaly_class=7 is not among .* \[0, 1, 2\]"),
        ({"anomaly_class": 0, "protocol": "paper"}, "'protocol' parameter .* 'paper'"),
        ({"anomaly_class": 0, "y_test": None}, "both X_test and y_test"),
        ({"anomaly_class": 0, "test_size": 0.5}, "test_size=0.5 is only used"),
    ],
)
def test_one_class_split_errors(labelled, kwargs, message):
    X, y, X_test, y_test = labelled
    kwargs = {"X_test": X_test, "y_test": y_test, **kwargs}
    with pytest.raises(ValueError, match=message):
        make_one_class_split(X, y, **kwargs)


def test_one_class_split_more_errors(labelled):
    X, y, X_test, y_test = labelled
    with pytest.raises(ValueError, match="No test split given"):
        make_one_class_split(X, y, anomaly_class=0)
    with pytest.raises(ValueError, match="only class present"):
        make_one_class_split(
            X[:1], y[:1], anomaly_class=0, X_test=X_test[:2], y_test=np.zeros(2, int)
        )
    with pytest.raises(ValueError, match="has no test samples"):
        make_one_class_split(
            X,
            y,
            anomaly_class=1,
            protocol="clean",
            X_test=X_test,
            y_test=np.zeros(len(y_test), int),
        )
    with pytest.raises(ValueError, match=r"got \(8, 1, 1, 1\) and \(7,\)"):
        make_one_class_split(X, y[:7], anomaly_class=0, X_test=X_test, y_test=y_test)
    with pytest.raises(ValueError, match="differ in shape"):
        make_one_class_split(
            X, y, anomaly_class=0, X_test=X_test[:, :, 0], y_test=y_test
        )


# ---------------------------------------------------------- synthetic defects


@pytest.mark.parametrize("n_channels", [1, 3])
def test_synthetic_defects(n_channels):
    data = make_synthetic_defects(
        n_normal=30,
        n_defect=20,
        image_size=24,
        n_channels=n_channels,
        random_state=0,
    )
    assert data.X.shape == data.X_clean.shape == (50, n_channels, 24, 24)
    assert data.X.dtype == data.X_clean.dtype == data.masks.dtype == np.uint8
    assert data.masks.shape == (50, 24, 24)
    assert data.y.dtype == np.int64
    assert data.y.tolist() == [0] * 30 + [1] * 20
    assert set(np.unique(data.masks)) == {0, 1}
    assert not data.masks[:30].any()
    assert data.masks[30:].any(axis=(1, 2)).all()
    # the defect changes exactly the masked pixels, in every channel
    changed = data.X != data.X_clean
    np.testing.assert_array_equal(changed.any(axis=1), data.masks.astype(bool))
    np.testing.assert_array_equal(changed.all(axis=1), data.masks.astype(bool))
    np.testing.assert_array_equal(data.X[:30], data.X_clean[:30])
    assert set(data.defect_type[:30]) == {"good"}
    assert set(data.defect_type[30:]) <= {"rectangle", "scratch"}
    # a defect is local: it covers only a small part of the image
    assert data.masks.sum(axis=(1, 2)).max() <= 0.25 * 24 * 24
    # normal images are textured, not flat
    assert data.X[:30].std(axis=(1, 2, 3)).min() > 20


def test_synthetic_defects_deterministic():
    a = make_synthetic_defects(20, 20, random_state=42)
    b = make_synthetic_defects(20, 20, random_state=np.random.RandomState(42))
    c = make_synthetic_defects(20, 20, random_state=43)
    for key in ("X", "masks", "X_clean"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a.X, c.X)
    assert not np.array_equal(a.masks, c.masks)


def test_synthetic_defects_sizes_and_speed():
    start = time.perf_counter()
    data = make_synthetic_defects(500, 500, random_state=0)
    assert time.perf_counter() - start < 2.0  # usually ~0.1 s
    assert data.X.shape == (1000, 1, 32, 32)
    assert {"rectangle", "scratch"} <= set(data.defect_type)
    rect = data.masks[500:][data.defect_type[500:] == "rectangle"]
    sides = rect.any(axis=1).sum(axis=1)  # width of each rectangle
    # default defect_size is (32 // 10, 32 // 4)
    assert sides.min() >= 3
    assert sides.max() <= 8

    fixed = make_synthetic_defects(0, 10, defect_size=4, random_state=0)
    rect = fixed.masks[fixed.defect_type == "rectangle"]
    assert (rect.sum(axis=(1, 2)) == 16).all()
    assert make_synthetic_defects(5, 0, random_state=0).X.shape == (5, 1, 32, 32)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"n_normal": -1},
            r"'n_normal' parameter .* must be an int in the range \[0, inf\)",
        ),
        ({"n_defect": 2.5}, "'n_defect' parameter .* must be an int"),
        ({"n_normal": 0, "n_defect": 0}, "must be positive"),
        ({"image_size": 4}, r"'image_size' parameter .* in the range \[8, inf\)"),
        ({"n_channels": 0}, "'n_channels' parameter .* must be"),
        ({"defect_size": 0}, "defect_size must be"),
        ({"defect_size": (6, 3)}, "defect_size must be"),
        ({"defect_size": 2.5}, "defect_size must be"),
        ({"defect_size": (1, 2, 3)}, "defect_size must be"),
        ({"defect_size": 17}, r"image_size // 2 = 16, got 17"),
    ],
)
def test_synthetic_defects_invalid(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic_defects(**kwargs)
