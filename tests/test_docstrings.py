# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Docstring parameters of the public API must match the signatures.

A small parser of numpydoc ``Parameters`` sections runs everywhere; where
numpydoc is installed (the ``test`` and ``docs`` extras), its own validation runs
too (PR01: undocumented parameter, PR02:
documented parameter not in the signature, PR03: wrong order).
"""

import importlib.util
import inspect
import re

import pytest

import sklearn_sganomaly
from sklearn_sganomaly import datasets, model_selection, plotting

HAS_NUMPYDOC = importlib.util.find_spec("numpydoc") is not None


def _public_objects():
    objects = {}
    for path, cls in [
        (
            "sklearn_sganomaly.SkipGANomalyDetector",
            sklearn_sganomaly.SkipGANomalyDetector,
        ),
        (
            "sklearn_sganomaly.model_selection.OneClassSplit",
            model_selection.OneClassSplit,
        ),
        ("sklearn_sganomaly.plotting.LossCurveDisplay", plotting.LossCurveDisplay),
    ]:
        objects[path] = cls
        # Methods the class or the library's own mixins define (inherited ones
        # are other libraries').
        own = [k for k in cls.__mro__ if k.__module__.startswith("sklearn_sganomaly")]
        for name, member in {
            k: v for c in own[::-1] for k, v in vars(c).items()
        }.items():
            if not name.startswith("_") and (
                inspect.isfunction(member) or isinstance(member, classmethod)
            ):
                objects[f"{path}.{name}"] = getattr(cls, name)
    for name in datasets.__all__:
        objects[f"sklearn_sganomaly.datasets.{name}"] = getattr(datasets, name)
    return objects


OBJECTS = _public_objects()


def _documented_parameters(doc):
    """Names in the ``Parameters`` section, in order (``a, b : ...`` gives both)."""
    match = re.search(
        r"\n\s*Parameters\n\s*-+\n(.*?)(\n\s*\n\s*\w[\w ]*\n\s*-+\n|$)", doc, flags=re.S
    )
    if match is None:
        return []
    lines = match.group(1).splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    names = []
    for line in lines:
        if line.strip() and len(line) - len(line.lstrip()) == indent:
            head = line.split(" : ")[0].strip().rstrip(":")
            names += [name.strip() for name in head.split(",")]
    return names


def _signature_parameters(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = inspect.signature(target).parameters.values()
    return [
        p.name
        for p in params
        if p.name not in ("self", "cls")
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


@pytest.mark.parametrize("name", list(OBJECTS))
def test_docstring_parameters_match_signature(name):
    obj = OBJECTS[name]
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{name} has no docstring"
    assert _documented_parameters("\n" + doc) == _signature_parameters(obj), name


@pytest.mark.skipif(not HAS_NUMPYDOC, reason="numpydoc is not installed")
@pytest.mark.parametrize("name", list(OBJECTS))
def test_numpydoc_validation(name):
    from numpydoc.validate import validate

    errors = [
        f"{code}: {msg}"
        for code, msg in validate(name)["errors"]
        if code in {"PR01", "PR02", "PR03", "GL08"}
    ]
    assert not errors, f"{name}:\n" + "\n".join(errors)


def test_every_public_name_is_checked():
    assert "sklearn_sganomaly.SkipGANomalyDetector.fit" in OBJECTS
    assert "sklearn_sganomaly.SkipGANomalyDetector.load" in OBJECTS
    assert len(OBJECTS) >= 1 + 5 + len(datasets.__all__)


def test_every_public_method_of_the_estimator_has_a_runnable_example():
    # The examples themselves run as doctests (--doctest-modules).
    cls = sklearn_sganomaly.SkipGANomalyDetector
    missing = [
        name
        for name, member in vars(cls).items()
        if not name.startswith("_")
        and (inspect.isfunction(member) or isinstance(member, classmethod))
        and ">>> " not in (getattr(cls, name).__doc__ or "")
    ]
    assert missing == []
