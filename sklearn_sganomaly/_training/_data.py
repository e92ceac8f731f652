# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""The data the net trains and scores on: tensors, batches, the hold-out."""

from __future__ import annotations

import torch
from skorch.helper import predefined_split

from .._inputs import NetworkInput


class _Tensors(torch.utils.data.Dataset):
    """Rows of one tensor, or of a ``NetworkInput`` that makes them batch by batch.

    This is what ``SkipGANomalyNet.get_dataset`` makes of arrays.
    """

    def __init__(self, data) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        # (X, y) pairs, as skorch unpacks them, should a DataLoader wrap this.
        return self.data[index], torch.zeros(())


class _Batches:
    """Batches sliced from a tensor, replacing a per-sample ``DataLoader``.

    Takes the ``DataLoader`` arguments that skorch passes. On a ``_Tensors``
    dataset each batch is one slice (or one gather, when shuffling) of the
    whole tensor, so no Python code runs per sample; other datasets fall back to
    a ``DataLoader``.

    Parameters
    ----------
    dataset : torch Dataset
    batch_size : int
    shuffle : bool, default=False
        Visit the rows in the order of ``torch.randperm(n, generator=generator)``,
        drawn anew on every pass.
    generator : torch.Generator or None, default=None
        The only source of randomness; the global torch state is never used.
    drop_last : bool, default=False
        Leave out a trailing batch shorter than ``batch_size``.
    **kwargs
        Other ``DataLoader`` arguments, used only by the fallback.
    """

    def __init__(
        self,
        dataset,
        batch_size,
        shuffle=False,
        generator=None,
        drop_last=False,
        **kwargs,
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.drop_last = drop_last
        self.kwargs = kwargs

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def shuffled_order(self, n):
        """A permutation of ``range(n)`` drawn from ``generator``, on the CPU."""
        generator = self.generator
        if generator is None:
            # Like DataLoader, but seeded from fresh entropy rather than from
            # (and so changing) the global torch random state.
            generator = torch.Generator()
            generator.seed()
        return torch.randperm(n, generator=generator)

    def __iter__(self):
        if not isinstance(self.dataset, _Tensors):
            yield from torch.utils.data.DataLoader(
                self.dataset,
                batch_size=self.batch_size,
                shuffle=self.shuffle,
                generator=self.generator,
                drop_last=self.drop_last,
                **self.kwargs,
            )
            return
        data = self.dataset.data
        n = len(data)
        order = None
        if self.shuffle:
            order = self.shuffled_order(n)
            if isinstance(data, torch.Tensor):
                order = order.to(data.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = min(start + self.batch_size, n)
            if order is None:
                yield data[start:stop], None
            else:
                yield data[order[start:stop]], None


def holdout_split(X_valid):
    """skorch ``train_split`` that validates on ``X_valid`` (array or NetworkInput)."""
    return predefined_split(_Tensors(_as_data(X_valid)))


def _as_data(X):
    return X if isinstance(X, NetworkInput) else torch.as_tensor(X)
