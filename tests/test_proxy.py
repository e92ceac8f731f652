"""Synthetic anomalies of the early-stopping proxy."""

import numpy as np
import pytest
import torch

from sklearn_sganomaly._training import synthetic_anomalies


def test_image_anomalies_paste_one_rectangle_of_another_image():
    n, size = 12, 32
    # Every image a distinct constant: a pasted patch shows whose it is.
    x = torch.arange(n, dtype=torch.float32)[:, None, None, None].expand(
        n, 2, size, size
    )
    out = synthetic_anomalies(x, np.random.RandomState(0))
    assert out.shape == x.shape
    for i in range(n):
        changed = (out[i] != x[i]).any(0)
        rows, cols = torch.nonzero(changed, as_tuple=True)
        assert len(rows), "every sample gets a patch"
        height = int(rows.max() - rows.min() + 1)
        width = int(cols.max() - cols.min() + 1)
        assert int(changed.sum()) == height * width  # one rectangle
        assert size // 6 <= min(height, width)
        assert max(height, width) <= size // 3
        donors = torch.unique(out[i][:, changed])
        assert len(donors) == 1
        assert donors.item() != i


@pytest.mark.parametrize(("n_features", "n_swapped"), [(10, 3), (2, 1), (64, 19)])
def test_table_anomalies_take_a_share_of_another_rows_features(n_features, n_swapped):
    n = 9
    x = torch.arange(n, dtype=torch.float32)[:, None] + torch.zeros(n, n_features)
    out = synthetic_anomalies(x, np.random.RandomState(0))
    for i in range(n):
        changed = out[i] != x[i]
        assert int(changed.sum()) == n_swapped
        donors = torch.unique(out[i][changed])
        assert len(donors) == 1
        assert donors.item() != i


def test_synthetic_anomalies_repeat_with_the_seed_and_leave_the_input():
    x = torch.randn(8, 1, 32, 32)
    before = x.clone()
    a = synthetic_anomalies(x, np.random.RandomState(3))
    b = synthetic_anomalies(x, np.random.RandomState(3))
    assert torch.equal(a, b)
    assert torch.equal(x, before)
