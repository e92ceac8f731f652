# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Where and in which precision the networks run, and their random state."""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def resolve_precision(precision: str, device) -> str:
    """Resolve ``precision`` to ``"fp32"`` or ``"bf16"`` for ``device``.

    Parameters
    ----------
    precision : {"auto", "fp32", "bf16"}
    device : str or torch.device

    Returns
    -------
    str
        ``"auto"`` becomes ``"fp32"`` on every device.

    Notes
    -----
    bf16 is opt-in. On the 90 runs of the quality benchmark it kept every
    data set's mean ROC AUC within 0.005 of fp32, but it changes the fitted
    model beyond float32 rounding, so with "auto" meaning bf16 the same
    ``random_state`` would give different models on machines with and
    without native bf16; and on CPUs without AVX512-BF16 or AMX it trained
    about 18x slower than fp32 (``benchmarks/README.md``).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    return "fp32" if precision == "auto" else precision


def resolve_device(device):
    """Return the ``torch.device`` for ``device`` ("auto": CUDA, then MPS, then CPU).

    Raises ``ValueError`` naming the value when the device is unknown or not
    available, instead of letting torch fail later in ``fit``.
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a valid device; use 'auto', 'cpu', 'cuda', "
            "'cuda:N' or 'mps'."
        ) from exc
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if resolved.type not in available:
        raise ValueError(
            f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda', "
            "'cuda:N' or 'mps'."
        )
    if not available[resolved.type]:
        raise ValueError(
            f"device={device!r} was requested, but {resolved.type.upper()} is not "
            "available in this torch installation; use device='auto' or 'cpu'."
        )
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was requested, but only "
            f"{torch.cuda.device_count()} CUDA device(s) are visible."
        )
    return resolved


@contextlib.contextmanager
def forked_rng(device, seed):
    """Seed torch inside a fork of its random state, leaving the caller's alone."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
