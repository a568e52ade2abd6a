"""The one-pass, block-wise scoring kernel (``_item_pass.score_codes``) equals the plain formula.

The plain formula is tests/test_scoring.py's ``loop_score`` (one respondent, one scale, one
item at a time), here with every missing rule: a count, a percentage, and a per-scale mapping
(scales left out of the mapping allow none). The kernel's block size is drawn too, so
respondents fall in several blocks and the last block is partial. Tolerance ``TOL`` = 1e-9 as
in tests/test_scoring.py (sums of a few small integers divided once; observed exact).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from empathy_metrics import _item_pass
from empathy_metrics.instruments import instrument_from_dict
from empathy_metrics.scoring import keyed_items, score

from .test_scoring import loop_score

TOL = 1e-9
RULES = st.one_of(st.integers(0, 6), st.sampled_from(["0%", "20%", "25%", "50%", "100%"]))


@st.composite
def cases(draw):
    k = draw(st.integers(2, 9))
    lo = draw(st.integers(-2, 2))
    hi = lo + draw(st.integers(1, 6))
    items = [{"id": f"Q{i + 1}", "reverse": draw(st.booleans())} for i in range(k)]
    groups = draw(st.lists(st.integers(0, 2), min_size=k, max_size=k))
    subscales = {f"s{g}": [items[i]["id"] for i in range(k) if groups[i] == g]
                 for g in sorted(set(groups))} if draw(st.booleans()) else {}
    total = draw(st.booleans()) or not subscales
    names = [*subscales, *(["total"] if total else [])]
    kind = draw(st.sampled_from(["count", "percent", "mapping"]))
    if kind == "mapping":
        rule = {s: draw(RULES) for s in names if draw(st.booleans())}
    else:
        rule = draw(st.integers(0, k) if kind == "count" else st.sampled_from(
            ["0%", "20%", "33.3%", "50%", "100%"]))
    spec = {"id": "gen", "name": "generated", "citation": "none", "license": "none",
            "response_scale": {"min": lo, "max": hi}, "items": items, "total": total,
            "scoring": {"method": draw(st.sampled_from(["sum", "mean"])), "max_missing": rule}}
    if subscales:
        spec["subscales"] = subscales
    inst = instrument_from_dict(spec, source="generated")
    values = [*range(lo, hi + 1), math.nan, math.nan, lo - 1, hi + 2, lo + 0.5]
    n = draw(st.integers(1, 30))
    rows = draw(st.lists(st.lists(st.sampled_from(values), min_size=k, max_size=k),
                         min_size=n, max_size=n))
    return inst, pd.DataFrame(rows, columns=inst.item_ids, dtype=float)


def _rule(inst, scale):
    """The written rule of one scale (a mapping's entry; a scale left out allows none)."""
    spec = inst.max_missing
    return spec.get(scale, 0) if isinstance(spec, Mapping) else spec


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(1, 40), st.booleans())
def test_block_kernel_equals_the_plain_formula(case, block_cells, as_int):
    inst, data = case
    if as_int:  # integer columns are read as stored (no NaN, no rounding test)
        data = data.fillna(inst.response_min - 1).round().astype(np.int64)
    saved = _item_pass._BLOCK_CELLS
    _item_pass._BLOCK_CELLS = block_cells  # blocks of block_cells // k rows (at least one)
    try:
        got = score(data, inst)
        keyed = keyed_items(data, inst)
    finally:
        _item_pass._BLOCK_CELLS = saved
    # the plain scorer applies one written rule to every scale: run it once per scale
    want = pd.concat([loop_score(data, dataclasses.replace(inst, max_missing=_rule(inst, s)))
                      [[s]] for s in inst.scales], axis=1)
    plain = loop_score(data, dataclasses.replace(inst, max_missing=0))  # flags: rule-free
    for s in inst.scales:
        np.testing.assert_allclose(got.scores[s].to_numpy(float), want[s].to_numpy(float),
                                   rtol=0, atol=TOL, err_msg=s)
    for col in ("n_missing", "out_of_range", "straightlining"):
        assert got.scores[col].tolist() == plain[col].tolist(), col
    assert got.scores["unscorable"].tolist() == want.isna().any(axis=1).tolist()
    # keyed items: min + max - x for reverse-keyed items, NaN when missing or out of range
    x = data.to_numpy(float)
    ok = (x >= inst.response_min) & (x <= inst.response_max) & (x == np.round(x))
    rev = np.array([it.reverse for it in inst.items])
    expect = np.where(rev, inst.response_min + inst.response_max - x, x)
    expect[~ok] = np.nan
    np.testing.assert_array_equal(keyed.to_numpy(), expect)
    np.testing.assert_array_equal(got.keyed.to_numpy(), expect)
