"""The batch iterators: shuffling, drop_last, slices, and scoring in batches."""

import pytest
import torch
from conftest import tiny_net, uniform_inputs

from sklearn_sganomaly._training._data import _Batches, _Tensors

IMAGE = (1, 32, 32)


pytestmark = pytest.mark.usefixtures("single_thread")


def _passes(generator_seed, n=10, batch_size=4, drop_last=False, n_passes=2):
    data = torch.arange(n)
    batches = _Batches(
        _Tensors(data),
        batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(generator_seed),
        drop_last=drop_last,
    )
    return [[b.tolist() for b, _ in batches] for _ in range(n_passes)]


def test_shuffling_is_deterministic_from_the_generator_only():
    state = torch.random.get_rng_state()
    first = _passes(0)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert first == _passes(0)
    assert first != _passes(1)
    assert first[0] != first[1]  # a new order on every pass
    expected = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    assert [i for batch in first[0] for i in batch] == expected.tolist()


@pytest.mark.parametrize(("drop_last", "sizes"), [(False, [4, 4, 2]), (True, [4, 4])])
def test_drop_last_is_honoured(drop_last, sizes):
    for batches in _passes(0, drop_last=drop_last):
        assert [len(b) for b in batches] == sizes
        assert len({i for batch in batches for i in batch}) == sum(sizes)


def test_unshuffled_batches_are_slices_in_order():
    data = torch.arange(10.0)
    batches = list(_Batches(_Tensors(data), 4))
    assert [b.tolist() for b, _ in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].data_ptr() == data.data_ptr()  # a view, not a copy


def test_net_defaults_to_the_slicing_iterator():
    net = tiny_net(IMAGE, initialize=False)
    assert net.iterator_train is _Batches
    assert net.iterator_valid is _Batches


def test_scoring_batches_bound_memory(monkeypatch):
    """Scoring never holds more than ``batch_size`` rows' activations at once."""
    X = uniform_inputs(IMAGE, 21, 0)
    torch.manual_seed(0)
    net = tiny_net(IMAGE, initialize=False, batch_size=4).fit(X[:8])
    sizes = []
    score = net.official_scores
    monkeypatch.setattr(
        net, "official_scores", lambda x: sizes.append(len(x)) or score(x)
    )
    scores = net.predict(X)
    assert sizes == [4, 4, 4, 4, 4, 1]
    assert scores.shape == (21,)
    # The array to score is wrapped, not copied (nor moved as a whole).
    assert net.get_dataset(X).data.data_ptr() == X.ctypes.data
