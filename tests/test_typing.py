"""The public API type-checks clean with mypy (configuration: [tool.mypy] in pyproject.toml),
and the package ships its type information (py.typed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_public_api_type_checks_clean():
    pytest.importorskip("mypy")
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


def test_py_typed_is_shipped():
    assert (ROOT / "empathy_metrics" / "py.typed").is_file()
