"""Shared fixtures: small, fast detectors and data."""

import numpy as np
import pytest
import torch
from hypothesis import settings

from sklearn_sganomaly import SkipGANomalyDetector, _persistence
from sklearn_sganomaly._training import make_net

# Torch calls have no fixed duration on a shared CPU, so no deadline; CI keeps the
# example counts small so the suite stays fast.
settings.register_profile("dev", deadline=None, max_examples=25)
settings.register_profile("ci", deadline=None, max_examples=15, derandomize=True)
settings.load_profile("ci" if __import__("os").environ.get("CI") else "dev")

FAST = {"epochs": 1, "width": 4, "latent_dim": 8, "batch_size": 16, "device": "cpu"}


def tiny_net(shape, *, initialize=True, **kwargs):
    """A net built by the factory ``SkipGANomalyDetector`` uses, but tiny."""
    params = {"max_epochs": 1, "batch_size": 8, "device": "cpu", "verbose": 0}
    net = make_net(shape, width=4, latent_dim=6, **(params | kwargs))
    return net.initialize() if initialize else net


def save_as_version(det, path, version, rewrite, monkeypatch):
    """Save ``det`` as a release writing model file format ``version`` did.

    ``rewrite(metadata, tensors)`` returns what that release wrote instead.
    """
    write = _persistence.write_model_file

    def write_older(path, metadata, tensors):
        metadata, tensors = rewrite(metadata, tensors)
        monkeypatch.setattr(_persistence, "FORMAT_VERSION", version)
        write(path, metadata, tensors)

    monkeypatch.setattr(_persistence, "write_model_file", write_older)
    det.save(path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["format_version"] == version


def uniform_inputs(shape, n=8, seed=0):
    """Network input: ``n`` samples of ``shape``, uniform in [-1, 1]."""
    rng = np.random.RandomState(seed)
    return rng.uniform(-1, 1, size=(n, *shape)).astype(np.float32)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA, which this machine does not have")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="module")
def single_thread():
    """Run a test module's tiny networks on one thread.

    Tiny convolutions spend far longer synchronising threads than computing on a
    shared 2-core machine.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="session")
def images():
    """60 grayscale 8x8 images in [0, 16] (integer valued, like sklearn digits)."""
    return np.random.RandomState(0).randint(0, 17, size=(60, 1, 8, 8)).astype(float)


@pytest.fixture(scope="session")
def table():
    return np.random.RandomState(1).normal(size=(80, 5))


@pytest.fixture(scope="module")
def fitted_images(images):
    return SkipGANomalyDetector(**FAST, random_state=0).fit(images)


@pytest.fixture(scope="module")
def fitted_table(table):
    return SkipGANomalyDetector(**FAST, random_state=0).fit(table)
