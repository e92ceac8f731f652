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

import numpy as np
import torch

from ._inputs import InputScaling, network_shape
from ._neighbors import SnapshotNeighbours
from ._training import forked_rng, resolve_device

__all__ = [
    "FORMAT_VERSION",
    "read_detector",
    "read_model_file",
    "write_detector",
    "write_model_file",
]

FORMAT = "sklearn_sganomaly.SkipGANomalyDetector"
FORMAT_VERSION = 4
#: Version 1 files (no neighbour score, no stored threshold), version 2 files
#: (one discriminator snapshot) and version 3 files (the generator's innermost
#: layers as the full official 4x4 kernels, whose centre loads) still load.
READABLE_VERSIONS = (1, 2, 3, 4)


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


def write_detector(detector, path):
    """Write a fitted ``SkipGANomalyDetector`` to ``path``: parameters, fitted
    attributes and history as JSON, the networks and scores as tensors."""
    from . import __version__  # the package imports this module first

    params = detector.get_params(deep=False)
    params["device"] = str(params["device"])
    if not isinstance(params["random_state"], int | None):
        params["random_state"] = None  # only used by fit, not needed to score
    scaling = detector._input_scaling()
    fitted = {
        "n_features_in_": detector.n_features_in_,
        "image_shape_": scaling.image_shape,
        "data_min_": np.asarray(scaling.data_min).tolist(),
        "data_range_": np.asarray(scaling.data_range).tolist(),
        "dtype_ranges": scaling.dtype_ranges,
        # Written by calibrate_threshold as well as fit, so stored, not
        # recomputed from contamination.
        "threshold_": float(detector.threshold_),
    }
    if hasattr(detector, "feature_names_in_"):
        fitted["feature_names_in_"] = detector.feature_names_in_.tolist()
    metadata = {
        "library_version": __version__,
        "params": params,
        "fitted": fitted,
        "history": json.loads(json.dumps(list(detector.history_), default=float)),
    }
    neighbours = detector.neighbours_
    references = [] if neighbours is None else neighbours.reference_features_
    tensors = model_tensors(detector.net_, references, detector.decision_scores_)
    write_model_file(path, metadata, tensors)


def read_detector(cls, path, device):
    """The fitted detector of class ``cls`` that ``write_detector`` wrote."""
    metadata, tensors = read_model_file(path)
    fitted = metadata["fitted"]
    # Parameters added later, with the value the files written before them
    # trained with: version 1 predates anomaly_score, version 3 skip_dropout.
    earlier = {"anomaly_score": "official", "skip_dropout": 0.0}
    detector = cls(**(earlier | metadata["params"]))
    image_shape = fitted["image_shape_"] and tuple(fitted["image_shape_"])
    resolved = resolve_device(device)
    shape = network_shape(image_shape) or (fitted["n_features_in_"],)
    net = detector._build_net(shape, resolved, seed=0, drop_last=False)
    with forked_rng(resolved, 0):
        net.initialize()
    load_modules(net, tensors, path)
    net.history.extend(metadata["history"])
    detector._set_model(net, resolved)
    detector.n_features_in_ = fitted["n_features_in_"]
    if "feature_names_in_" in fitted:
        detector.feature_names_in_ = np.asarray(fitted["feature_names_in_"], object)
    detector._set_input_scaling(
        InputScaling(
            image_shape,
            np.asarray(fitted["data_min_"], dtype=np.float64),
            np.asarray(fitted["data_range_"], dtype=np.float64),
            # Before version 3, integer images were scaled in raw values.
            fitted.get("dtype_ranges", False),
        )
    )
    references = reference_features(tensors)
    neighbours = None
    if references:
        neighbours = SnapshotNeighbours(detector.anomaly_score, detector.n_neighbors)
        neighbours.fit(references)
    # Version 1 files did not store the threshold: contamination's.
    detector._set_scores(
        neighbours, tensors["decision_scores_"].numpy(), fitted.get("threshold_")
    )
    return detector
