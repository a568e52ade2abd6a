"""The API reference builds from the docstrings with Sphinx, warnings as errors, offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    conf = (ROOT / "docs" / "conf.py").read_text()
    assert "intersphinx" not in conf.replace("no intersphinx", "")  # no network at build time
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (tmp_path / "html" / "api" / "change.html").read_text()
    # the docstrings' formulas, references and R equivalents reach the reference
    for needle in ("compare_groups", "oneway.test", "p.adjust", "Welch"):
        assert needle in page, needle
    assert "psych::alpha" in (tmp_path / "html" / "api" / "psychometrics.html").read_text()
