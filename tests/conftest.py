"""Shared fixtures. Each test module owns its own data; keep this file small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).parent / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE_DIR


def load_reference(name: str) -> dict:
    """Load ``tests/reference/<name>.json`` (written by the R script of the same name)."""
    return json.loads((REFERENCE_DIR / f"{name}.json").read_text())
