# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""A model file that executes no code when it is read.

Pickle (and joblib) files can run arbitrary code while loading, so a model file
from an untrusted source must not be unpickled. This format holds only tensors
and one JSON string, read back with ``torch.load(weights_only=True)``, which
refuses everything else. A SHA-256 digest over the content catches corrupted or
edited files; a format version catches files from an incompatible release.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

import torch

__all__ = [
    "FORMAT_VERSION",
    "load_modules",
    "model_tensors",
    "read_model_file",
    "reference_features",
    "write_model_file",
]

FORMAT = "sklearn_sganomaly.SkipGANomalyDetector"
FORMAT_VERSION = 3
#: Version 1 files (no neighbour score, no stored threshold) and version 2 files
#: (one discriminator snapshot) still load.
READABLE_VERSIONS = (1, 2, 3)


def _digest(metadata_json: str, tensors: dict[str, torch.Tensor]) -> str:
    sha = hashlib.sha256(metadata_json.encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous().reshape(-1)
        sha.update(
            f"{name}|{tensors[name].dtype}|{tuple(tensors[name].shape)}".encode()
        )
        sha.update(tensor.view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


def write_model_file(
    path: str | os.PathLike, metadata: dict, tensors: dict[str, torch.Tensor]
) -> None:
    """Write JSON-able ``metadata`` and CPU copies of ``tensors`` to ``path``."""
    metadata_json = json.dumps(metadata, sort_keys=True)
    tensors = {name: t.detach().cpu() for name, t in tensors.items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": metadata_json,
        "tensors": tensors,
        "sha256": _digest(metadata_json, tensors),
    }
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot save the model to {path!r}: the directory {folder!r} does not "
            "exist."
        )
    # Written beside the target and moved onto it only once complete, so a
    # crash or a full disk mid-write leaves the previous file intact.
    fd, partial = tempfile.mkstemp(dir=folder, prefix=".partial-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise


def read_model_file(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read and verify a file written by :func:`write_model_file`.

    Raises ``ValueError`` naming the problem for anything that is not an
    unmodified model file of this format version.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch raises several types for foreign files
        raise ValueError(
            f"{os.fspath(path)!r} is not a sklearn_sganomaly model file, or it is "
            f"damaged; it was refused without running any of its content ({exc})."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is not a sklearn_sganomaly model file.")
    if payload.get("format_version") not in READABLE_VERSIONS:
        raise ValueError(
            f"{os.fspath(path)!r} has model file format version "
            f"{payload.get('format_version')!r}; this release reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}."
        )
    metadata_json, tensors = payload["metadata"], payload["tensors"]
    if _digest(metadata_json, tensors) != payload.get("sha256"):
        raise ValueError(
            f"{os.fspath(path)!r} does not match its SHA-256 digest: the file was "
            "modified or corrupted."
        )
    return json.loads(metadata_json), _upgrade_tensor_names(tensors)


def _upgrade_tensor_names(tensors):
    """Name the tensors of a version 2 file as version 3 does."""
    renamed = {}
    for key, value in tensors.items():
        if key.startswith("first_discriminator."):
            key = key.replace("first_discriminator.", "snapshot_discriminators.1.", 1)
        elif key == "reference_features":
            key = "reference_features.0"
        renamed[key] = value
    return renamed


def _saved_modules(net):
    """The net's modules a model file holds, under their key prefixes."""
    return (
        ("generator.", net.module_),
        ("discriminator.", net.discriminator_),
        ("snapshot_discriminators.", net.snapshot_discriminators_),
    )


def model_tensors(net, references, decision_scores):
    """The tensors of a fitted detector's model file.

    The net's modules, the neighbour scores' reference features (one array per
    snapshot; none for the "official" score) and the training scores.
    """
    tensors = {"decision_scores_": torch.from_numpy(decision_scores)}
    for i, reference in enumerate(references):
        tensors[f"reference_features.{i}"] = torch.from_numpy(reference)
    for prefix, module in _saved_modules(net):
        tensors |= {prefix + k: v for k, v in module.state_dict().items()}
    return tensors


def reference_features(tensors):
    """The reference features ``model_tensors`` stored, in snapshot order."""
    n_snapshots = sum(k.startswith("reference_features.") for k in tensors)
    return [tensors[f"reference_features.{i}"].numpy() for i in range(n_snapshots)]


def load_modules(net, tensors, path):
    """Load the weights of a model file into an initialised ``net``."""
    for prefix, module in _saved_modules(net):
        state = {
            k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)
        }
        if prefix == "snapshot_discriminators.":
            # Older files keep fewer snapshots (version 2 the first epoch's,
            # version 1 none); their feature_snapshot never uses the others.
            state = module.state_dict() | state
        try:
            module.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(
                f"The weights in {os.fspath(path)!r} do not match the networks "
                f"its parameters describe: {exc}"
            ) from exc
