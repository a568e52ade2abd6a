"""Sphinx configuration of the API reference (built offline: no intersphinx)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document this checkout, not an installed copy

import empathy_metrics  # noqa: E402

project = "empathy-metrics"
author = "empathy-metrics developers"
release = version = empathy_metrics.__version__
copyright = "empathy-metrics developers, BSD-3-Clause"  # noqa: A001

extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "numpydoc"]
# no network at build time: no intersphinx, mathjax is only referenced by the HTML pages
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False
autodoc_typehints = "none"  # the signatures show them; numpydoc sections carry the prose
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
nitpicky = False
suppress_warnings = ["ref.python"]  # several private re-exports name the same class

templates_path: list[str] = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
