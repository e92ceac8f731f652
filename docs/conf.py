# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Sphinx configuration of the sklearn_sganomaly documentation.

Build with ``tox -e docs``, or by hand::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Intersphinx links to Python, NumPy, scikit-learn, PyTorch, skorch and PyOD need
their inventories from the internet. ``SPHINX_OFFLINE=1`` (the default of
``tox -e docs``) skips them, so the build works, warnings as errors, without a
network; the cross-references then render as plain code. Set
``SPHINX_OFFLINE=0`` to fetch the inventories and get the links.
"""

import os
import sys
import warnings

import torch

import sklearn_sganomaly

# One torch thread: the examples use tiny networks, where thread start-up costs
# more than it gains, and a second thread slows everything down many times over
# when the CPU is shared (e.g. with a benchmark or CI jobs). Override with
# SPHINX_TORCH_THREADS.
torch.set_num_threads(int(os.environ.get("SPHINX_TORCH_THREADS", "1")))

project = "sklearn_sganomaly"
author = "the sklearn_sganomaly developers"
copyright = f"2026, {author}"
release = sklearn_sganomaly.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "_scripts"]
root_doc = "index"

# -- API reference ------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
autodoc_typehints = "none"  # numpydoc's Parameters sections say it all
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- intersphinx (online only; see the module docstring) -----------------------
OFFLINE = os.environ.get("SPHINX_OFFLINE", "1").strip().lower() not in {
    "0",
    "false",
    "no",
    "",
}
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "torch": ("https://docs.pytorch.org/docs/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    "pyod": ("https://pyod.readthedocs.io/en/latest", None),
}
if OFFLINE:
    intersphinx_mapping = {}
intersphinx_timeout = 10

# -- plot directive (the architecture figure of the user guide) ----------------
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"savefig.bbox": "tight"}

# -- example gallery -----------------------------------------------------------
# Only examples/plot_*.py are run; examples/digits_demo.py is the README's
# command-line demo (``tox -e demo``) and is left out of the gallery.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "ignore_pattern": r"digits_demo\.py",
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 1,
    # No sg_execution_times.rst pages: the root one would land in docs/ itself.
    "write_computation_times": False,
    "reference_url": {"sklearn_sganomaly": None},
    "doc_module": ("sklearn_sganomaly",),
    "backreferences_dir": None,
}
# Matplotlib must not try to open windows while the examples run.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")
sys.path.insert(0, os.path.abspath("_scripts"))

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_sganomaly {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "github_url": "https://github.com/sklearn-sganomaly/sklearn-sganomaly",
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
