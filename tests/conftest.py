"""Shared fixtures. Each test module owns its own data; keep this file small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).parent / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE_DIR


def jse_sim_responses():
    """``reference/data/jse_sim.csv`` as raw jse-s answers: ``(instrument, frame)``.

    The simulated factors 1-3 (q1-q10, q11-q18, q19-q20) play the three jse-s subscales in
    order, and the reverse keying is undone (8 - x), as the R reference scripts do.
    """
    import pandas as pd

    from empathy_metrics import load_instrument

    inst = load_instrument("jse-s")
    sim = pd.read_csv(REFERENCE_DIR / "data" / "jse_sim.csv")
    order = [i for scale, ids in inst.scales.items() if scale != "total" for i in ids]
    raw = pd.DataFrame({item: sim[f"q{k + 1}"] for k, item in enumerate(order)})
    for item in inst.reverse_items:
        raw[item] = 8 - raw[item]
    return inst, raw[inst.item_ids]


def load_reference(name: str) -> dict:
    """Load ``tests/reference/<name>.json`` (written by the R script of the same name)."""
    return json.loads((REFERENCE_DIR / f"{name}.json").read_text())
