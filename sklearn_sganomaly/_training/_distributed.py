# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Data-parallel training over an initialized ``torch.distributed`` process group.

When ``fit`` runs in a process group of two or more processes (a script started
with ``torchrun``, or one that called ``torch.distributed.init_process_group``),
``SkipGANomalyDetector`` trains with ``DataParallelSkipGANomalyNet``:

- every process passes the same ``X``; each epoch all processes use the order
  drawn by process 0 and each takes its own, disjoint share of every batch, so
  ``batch_size`` stays the size of the global batch;
- for the duration of training, BatchNorm layers become ``nn.SyncBatchNorm`` on
  GPUs, and on CPUs (gloo), where torch has no ``SyncBatchNorm`` kernels, layers
  that compute the same global statistics with differentiable collectives; so
  batch statistics, and their gradients, are those of the global batch;
- generator and discriminator are wrapped in ``DistributedDataParallel``, which
  averages their gradients over the processes;
- the losses in ``history_`` are averaged over the processes, i.e. they are the
  losses of the global batch.

After ``fit`` every process holds the same plain (unwrapped) networks, equal to
those of process 0, and scores on its own like a detector trained in one process.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ._data import _Batches, _Tensors
from ._net import SkipGANomalyNet

__all__ = ["DataParallelSkipGANomalyNet", "data_parallel", "is_main_process"]


def data_parallel() -> bool:
    """Whether ``fit`` should train data-parallel: a process group of 2 or more."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def is_main_process() -> bool:
    """Whether this process reports progress and writes files: rank 0, or alone."""
    return not data_parallel() or dist.get_rank() == 0


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) whose gradient is the all-reduced (summed) gradient.

    The same as ``torch.distributed.nn.functional.all_reduce``, which torch 2.13
    deprecates without a public differentiable replacement.
    """

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        tensor = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(tensor, group=group)
        return tensor

    @staticmethod
    def backward(ctx, grad):
        return _SumOverProcesses.apply(grad, ctx.group), None


def _gather_rows(row: torch.Tensor, group=None) -> torch.Tensor:
    """Every process's ``row`` stacked in rank order, differentiably.

    Written as a sum of rows that are zero except the own one, because gloo has
    no differentiable ``all_gather`` (its gradient needs all-to-all).
    """
    world, rank = dist.get_world_size(group), dist.get_rank(group)
    zeros = torch.zeros_like(row)
    rows = torch.stack([row if r == rank else zeros for r in range(world)])
    return _SumOverProcesses.apply(rows, group)


def _sync_batch_norm_cpu(bn: nn.modules.batchnorm._BatchNorm, x, momentum):
    """Train-mode BatchNorm with the statistics of all processes' batches.

    Each process contributes its batch mean, (biased) variance and count; they are
    combined exactly (Chan et al.'s pairwise formula). Gradients flow through the
    differentiable all-reduce, so they are those of BatchNorm over the global
    batch, as with ``nn.SyncBatchNorm`` on GPUs.
    """
    channels = x.size(1)
    dims = [0, *range(2, x.dim())]
    xf = x.float()
    count = x.numel() // channels
    if count:
        var, mean = torch.var_mean(xf, dim=dims, correction=0)
    else:  # an empty share still takes part in the collective
        var = mean = xf.new_zeros(channels)
    row = torch.cat([mean, var, xf.new_full((1,), float(count))])
    rows = _gather_rows(row, bn.process_group)
    counts = rows[:, -1:].detach()
    total = counts.sum()
    means, variances = rows[:, :channels], rows[:, channels:-1]
    mean = (counts * means).sum(0) / total
    var = (counts * (variances + (means - mean) ** 2)).sum(0) / total
    shape = (1, channels) + (1,) * (x.dim() - 2)
    y = (xf - mean.view(shape)) * torch.rsqrt(var + bn.eps).view(shape)
    if bn.affine:
        y = y * bn.weight.view(shape) + bn.bias.view(shape)
    if bn.track_running_stats:
        with torch.no_grad():
            # Unbiased variance in the running estimate, as F.batch_norm keeps it.
            unbiased = var * (total / (total - 1).clamp(min=1))
            bn.running_mean.lerp_(mean.detach(), momentum)
            bn.running_var.lerp_(unbiased.detach(), momentum)
    return y.to(x.dtype)


class _CpuSyncBatchNormMixin:
    """BatchNorm that synchronises its training statistics over CPU processes.

    torch's ``nn.SyncBatchNorm`` has kernels for CUDA and XPU only, and
    ``DistributedDataParallel`` refuses it in CPU modules, so CPU (gloo)
    training computes the same statistics with differentiable collectives.
    """

    def forward(self, input):
        if not (self.training and data_parallel()):
            return super().forward(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked)
        return _sync_batch_norm_cpu(self, input, momentum)


# Each replacement also subclasses the BatchNorm it replaces, so code that checks
# for ``nn.BatchNorm2d`` (weight initialisation) still finds it.
class _SyncBatchNorm1d(nn.SyncBatchNorm, nn.BatchNorm1d):
    pass


class _SyncBatchNorm2d(nn.SyncBatchNorm, nn.BatchNorm2d):
    pass


class _CpuSyncBatchNorm1d(_CpuSyncBatchNormMixin, nn.BatchNorm1d):
    process_group = None


class _CpuSyncBatchNorm2d(_CpuSyncBatchNormMixin, nn.BatchNorm2d):
    process_group = None


_TO_SYNC = {
    "cpu": {nn.BatchNorm1d: _CpuSyncBatchNorm1d, nn.BatchNorm2d: _CpuSyncBatchNorm2d},
    "other": {nn.BatchNorm1d: _SyncBatchNorm1d, nn.BatchNorm2d: _SyncBatchNorm2d},
}
_FROM_SYNC = {
    sync: plain for classes in _TO_SYNC.values() for plain, sync in classes.items()
}


def _swap_batchnorms(module: nn.Module, classes: dict) -> nn.Module:
    """Replace BatchNorm layers by ``classes[type(layer)]`` in place.

    The replacements share the parameters and buffers of the layers they
    replace, so optimizers and their state stay valid.
    """
    for name, child in module.named_children():
        target = classes.get(type(child))
        if target is None:
            _swap_batchnorms(child, classes)
            continue
        new = target(
            child.num_features,
            eps=child.eps,
            momentum=child.momentum,
            affine=child.affine,
            track_running_stats=child.track_running_stats,
            device="meta",  # storage is taken from ``child`` below
        )
        for key in ("weight", "bias"):
            setattr(new, key, getattr(child, key))
        for key in ("running_mean", "running_var", "num_batches_tracked"):
            new._buffers[key] = child._buffers.get(key)
        new.train(child.training)
        setattr(module, name, new)
    return module


def _comm_device() -> torch.device:
    """Where tensors for the process group's collectives must be: NCCL needs CUDA."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _fingerprint(X) -> torch.Tensor:
    """Length of ``X`` and two sums over up to 1024 evenly spaced rows.

    A sample, so that data streamed from disk is not read an extra time.
    """
    index = np.unique(np.linspace(0, len(X) - 1, min(len(X), 1024)).astype(np.int64))
    rows = torch.as_tensor(X[index]).reshape(len(index), -1).double().sum(1)
    position = torch.as_tensor(index, dtype=torch.float64) + 1
    sums = [rows.sum().item(), (rows * position).sum().item()]
    return torch.tensor([len(X), *sums], dtype=torch.float64, device=_comm_device())


class _ShardedBatches(_Batches):
    """This process's share of every global batch of ``_Batches``.

    Process 0 draws the order (from ``generator``) and broadcasts it, so all
    processes split the same global batches. Each batch is cut into equal,
    disjoint, contiguous shares; the last ``len(batch) % world_size`` samples of
    a batch are left out, which only happens for a trailing short batch.
    """

    def __iter__(self):
        world, rank = dist.get_world_size(), dist.get_rank()
        n = len(self.dataset)
        data = self.dataset.data if isinstance(self.dataset, _Tensors) else None
        # A tensor (on the net's device) or rows converted batch by batch.
        device = getattr(data, "device", torch.device("cpu"))
        if self.shuffle:
            order = self.shuffled_order(n).to(_comm_device())
            dist.broadcast(order, src=0)
            order = order.to(device)
        else:
            order = torch.arange(n, device=device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            batch = order[start : start + self.batch_size]
            share = len(batch) // world
            if share == 0:
                continue
            local = batch[rank * share : (rank + 1) * share]
            if data is not None:
                yield data[local], None
            else:
                collate = torch.utils.data.default_collate
                yield collate([self.dataset[i] for i in local.tolist()])


# With synchronised BatchNorm every process computes the same running statistics,
# so buffers need no broadcast before each forward; torch 2.13 renamed the switch.
_NO_BUFFER_BROADCAST = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


class _DataParallel(DistributedDataParallel):
    """``DistributedDataParallel`` whose state is that of the wrapped module.

    Callbacks that save or restore ``module_`` during training (checkpoints,
    restoring the best epoch) then read and write the same keys as without it.
    """

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, *args, **kwargs):
        return self.module.load_state_dict(*args, **kwargs)


class DataParallelSkipGANomalyNet(SkipGANomalyNet):
    """``SkipGANomalyNet`` whose ``fit`` trains over the default process group.

    Takes the parameters of ``SkipGANomalyNet``; ``batch_size`` is the global
    batch, split evenly over the processes, so it must be divisible by the
    number of processes. Outside ``fit`` (scoring, saving) the net is a plain
    ``SkipGANomalyNet`` with unwrapped networks and BatchNorm layers.

    Notes
    -----
    The G/D step runs D two or three times before its backward passes and
    differentiates each loss only with respect to its own network's parameters
    (``backward(inputs=...)``). That suits ``DistributedDataParallel`` with its
    defaults: a wrapped module may run forward several times before one
    backward, and the gradient hooks of a network fire only in the backward
    pass that reaches its parameters, each parameter once. Buffers are not
    broadcast on every forward (``broadcast_buffers=False``): with synchronised
    BatchNorm every process computes the same running statistics.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("iterator_train", _ShardedBatches)
        super().__init__(*args, **kwargs)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        world = dist.get_world_size()
        if self.batch_size % world:
            raise ValueError(
                f"batch_size={self.batch_size} is the global batch and must be "
                f"divisible by the number of processes ({world})."
            )
        self._check_same_data(X)
        verbose = self.verbose
        if not is_main_process():
            self.verbose = 0  # one loss table, not one per process
        self._wrap()
        try:
            return super().fit_loop(X, y, epochs, **fit_params)
        finally:
            self._unwrap()
            self.verbose = verbose

    def _check_same_data(self, X):
        # A process with other data would train on a mix no one asked for.
        prints = _gather_rows(_fingerprint(X)).cpu()
        if not torch.equal(prints, prints[:1].expand_as(prints)):
            raise ValueError(
                "Data-parallel fit needs the same X in every process; the processes "
                f"passed different data (sizes {prints[:, 0].long().tolist()})."
            )

    def _wrap(self):
        for name in ("module_", "discriminator_"):
            device = "cpu" if torch.device(self.device).type == "cpu" else "other"
            module = _swap_batchnorms(getattr(self, name), _TO_SYNC[device])
            # The constructor copies process 0's weights to every process; its
            # running statistics are copied here, once.
            for buffer in module.buffers():
                dist.broadcast(buffer, src=0)
            setattr(self, name, _DataParallel(module, **_NO_BUFFER_BROADCAST))

    def _unwrap(self):
        for name in ("module_", "discriminator_"):
            module = getattr(self, name)
            if isinstance(module, _DataParallel):
                module = module.module
            setattr(self, name, _swap_batchnorms(module, _FROM_SYNC))

    def _mean_over_processes(self, terms):
        stacked = torch.stack([term.detach().float() for term in terms.values()])
        dist.all_reduce(stacked)
        stacked /= dist.get_world_size()
        return dict(zip(terms, stacked.unbind(), strict=True))

    # The logged losses, and the decision to re-initialise D, must be those of
    # the global batch, identical in every process.
    def shared_step(self, x, fake, real_out):
        return self._mean_over_processes(super().shared_step(x, fake, real_out))

    def discriminator_step(self, fake, real_out):
        return self._mean_over_processes(super().discriminator_step(fake, real_out))

    def generator_step(self, x, fake, real_out):
        return self._mean_over_processes(super().generator_step(x, fake, real_out))

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        if self.history[-1, "batches", -1, "d_reinit"]:
            # Re-initialisation draws from each process's own random state.
            for tensor in self.discriminator_.module.state_dict().values():
                dist.broadcast(tensor, src=0)
        return step
