# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""The Python code of README.md and of the docs pages runs as written.

Every fenced ```` ```python ```` block of README.md, and every
``.. code-block:: python`` (or ``.. code::`` / ``.. sourcecode::``) and plain
``::`` literal block of ``docs/*.rst``, runs in document order, in one namespace
per file, as a reader pasting the blocks one after the other would run them: a
later block may use names that an earlier block of the same file defined.

A block can be marked by a comment on the line directly above it (blank lines
in between are allowed):

* ``code-check: skip (reason)``: the block is a fragment that cannot run here
  (it needs a cluster, a data file, ``torchrun`` ...). It is not run; the
  reason is required.
* ``code-check: slow``: the block runs, but takes long; its file then runs only
  in ``pytest -m slow`` (``tox -e slow``).

In Markdown the comment is ``<!-- code-check: skip (needs a Dask scheduler) -->``,
in reStructuredText ``.. code-check: skip (needs a Dask scheduler)``. Blocks
of other languages (``bash``, ``text``, ``yaml`` ...) are never run.
"""

import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst"))]
PYTHON = {"python", "python3", "py"}
MARKER = re.compile(r"code-check:\s*(?P<kind>\w+)\s*(?P<reason>.*?)\s*(?:-->)?$")
_MD_COMMENT = re.compile(r"^\s*<!--\s*(code-check:.*?)\s*-->\s*$")
_RST_COMMENT = re.compile(r"^\s*\.\.\s+(code-check:.*)$")
_RST_DIRECTIVE = re.compile(
    r"^(?P<indent>\s*)\.\.\s+(?:code-block|code|sourcecode)::\s*(?P<lang>\S*)\s*$"
)
_RST_ANY_DIRECTIVE = re.compile(r"^\s*\.\.\s+[\w:-]+::")


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the first code line
    code: str
    marker: str | None  # "skip", "slow" or None
    reason: str = ""

    @property
    def where(self):
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _marker(lines, index, comment):
    """The ``code-check`` marker on the non-blank line above ``lines[index]``."""
    i = index - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    if i < 0:
        return None, ""
    match = comment.match(lines[i])
    if not match:
        return None, ""
    marker = MARKER.match(match.group(1))
    if not marker:
        return "invalid", match.group(1)
    return marker.group("kind"), marker.group("reason").strip(" ()")


def _markdown_blocks(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = re.match(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)", lines[i])
        if not fence:
            i += 1
            continue
        ticks, lang = fence.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(ticks):
            end += 1
        if lang.lower() in PYTHON:
            kind, reason = _marker(lines, i, _MD_COMMENT)
            code = textwrap.dedent("\n".join(lines[i + 1 : end]))
            blocks.append(Block(path, i + 2, code, kind, reason))
        i = end + 1
    return blocks


def _indented_body(lines, start, indent):
    """The lines after ``start`` indented deeper than ``indent``, and the next index."""
    end = start + 1
    while end < len(lines) and (
        not lines[end].strip()
        or len(lines[end]) - len(lines[end].lstrip()) > len(indent)
    ):
        end += 1
    body = lines[start + 1 : end]
    # Directive options (":caption: ...") come before the first blank line.
    while body and body[0].strip().startswith(":"):
        body = body[1:]
    first = next((k for k, text in enumerate(body) if text.strip()), len(body))
    offset = end - len(body) + first
    return textwrap.dedent("\n".join(body[first:])).rstrip() + "\n", offset + 1, end


def _rst_blocks(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        directive = _RST_DIRECTIVE.match(lines[i])
        literal = (
            not directive
            and lines[i].rstrip().endswith("::")
            and not _RST_ANY_DIRECTIVE.match(lines[i])
        )
        if not (directive or literal):
            i += 1
            continue
        indent = (
            directive.group("indent")
            if directive
            else lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        )
        code, first_line, end = _indented_body(lines, i, indent)
        # A plain "::" literal block is highlighted as Python by Sphinx.
        lang = directive.group("lang").lower() if directive else "python"
        if lang in PYTHON and code.strip():
            kind, reason = _marker(lines, i, _RST_COMMENT)
            blocks.append(Block(path, first_line, code, kind, reason))
        i = end
    return blocks


def blocks_of(path):
    return _markdown_blocks(path) if path.suffix == ".md" else _rst_blocks(path)


def _param(path):
    blocks = blocks_of(path)
    slow = any(block.marker == "slow" for block in blocks)
    return pytest.param(
        path,
        id=str(path.relative_to(ROOT)),
        marks=[pytest.mark.slow] if slow else [],
    )


@pytest.mark.parametrize("path", [_param(p) for p in DOCUMENTS])
def test_code_blocks_run(path, tmp_path, monkeypatch, single_thread):
    """Run a file's Python blocks in order, in one namespace, in a scratch folder."""
    blocks = [b for b in blocks_of(path) if b.marker != "skip"]
    if not blocks:
        pytest.skip(f"{path.name} has no Python blocks to run")
    monkeypatch.chdir(tmp_path)  # whatever the blocks write lands here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__main__"}
    try:
        for block in blocks:
            exec(compile(block.code, block.where, "exec"), namespace)
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


def test_markers_are_valid():
    """Every ``code-check`` marker is ``skip (reason)`` or ``slow``."""
    problems = []
    for path in DOCUMENTS:
        for block in blocks_of(path):
            if block.marker not in {None, "skip", "slow"}:
                problems.append(f"{block.where}: unknown marker {block.marker!r}")
            if block.marker == "skip" and not block.reason:
                problems.append(f"{block.where}: 'code-check: skip' needs a reason")
    assert not problems, "\n".join(problems)


def test_readme_opens_with_a_complete_example():
    """The README's first block defines its data and prints a checkable result."""
    first = blocks_of(ROOT / "README.md")[0]
    assert first.marker is None, "the README's first block must run"
    assert "det.fit(X_train)" in first.code
    assert "print(" in first.code


def test_parsers_find_the_blocks(tmp_path):
    """Fences, directives, literal blocks, options and markers are read correctly."""
    md = tmp_path / "a.md"
    md.write_text(
        "text\n\n```python\nx = 1\n```\n\n```bash\nls\n```\n\n"
        "<!-- code-check: skip (needs a GPU) -->\n\n```python\ncuda()\n```\n",
        encoding="utf-8",
    )
    found = [(b.code.strip(), b.marker, b.reason, b.line) for b in blocks_of(md)]
    assert found == [("x = 1", None, "", 4), ("cuda()", "skip", "needs a GPU", 14)]

    rst = tmp_path / "a.rst"
    rst.write_text(
        "Title\n=====\n\n.. code-block:: python\n   :caption: c\n\n   a = 1\n"
        "   if a:\n       b = 2\n\nSome text::\n\n   c = 3\n\n"
        ".. code-block:: text\n\n   not python\n\n"
        ".. code-check: slow\n\n.. code-block:: python\n\n   d = 4\n\n"
        ".. toctree::\n   :maxdepth: 2\n\n   install\n",
        encoding="utf-8",
    )
    found = [(b.code, b.marker, b.line) for b in blocks_of(rst)]
    assert found == [
        ("a = 1\nif a:\n    b = 2\n", None, 7),
        ("c = 3\n", None, 13),
        ("d = 4\n", "slow", 23),
    ]


def test_docs_index_shows_the_readme_example():
    """The landing page shows the README's first block, unchanged."""
    (index,) = blocks_of(ROOT / "docs" / "index.rst")
    assert index.code.strip() == blocks_of(ROOT / "README.md")[0].code.strip()


def test_ci_runs_the_readme_test_command():
    """``.ci/run`` runs the test command that the README says CI runs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**The tests.**") :]
    command = re.search(r"```bash\n(.*?)\n```", section, re.DOTALL).group(1).strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command in ci.splitlines()
    assert "SKLEARN_SGANOMALY_REQUIRE_BROWSER=1" in ci
