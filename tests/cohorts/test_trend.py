"""trend() as a whole (cohorts.main): input handling, result interface and suppression."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from empathy_metrics.cohorts import TrendResult, shown_times, trend
from empathy_metrics.errors import DataError, InputError
from empathy_metrics.scoring import score

from .conftest import RTOL_EXACT, SCALES


def test_scored_and_raw_input_agree(raw, result):
    scored = pd.concat([raw[["id", "year"]], score(raw, "jse-s").scores[SCALES]], axis=1)
    res = trend(scored, "jse-s", time="year", scales=["total"])
    a = res.by_time.set_index("time")["mean"]
    b = result.by_time[result.by_time.scale == "total"].set_index("time")["mean"]
    pd.testing.assert_series_equal(a, b)
    assert res.item_change is None  # no items, no item-level change
    assert res.mixed_model["total"] is None


def test_small_time_suppressed_everywhere(raw):
    # keep only 6 year-4 rows: year 4 is suppressed, and a complement (next smallest) too
    small = pd.concat([raw[raw.year < 4], raw[raw.year == 4].head(6)])
    res = trend(small, "jse-s", time="year", id="id", scales=["total"])
    bt = res.by_time.set_index("time")
    assert bt.loc[4, "suppressed"] and bt.loc[4, "primary_suppressed"]
    assert bt["suppressed"].sum() == 2
    hidden = bt.index[bt["suppressed"]]
    assert bt.loc[hidden, ["n", "mean", "sd", "d_vs_ref"]].isna().all().all()
    d = res.to_dict()["scales"]["total"]
    for row in d["by_time"]:
        if row["suppressed"]:
            assert row["mean"] is None and row["n"] is None and row["ci"] == [None, None]
    assert d["mixed_model"]["terms"]["time[4]"]["estimate"] is None
    assert res.item_change[4].isna().all()
    # hidden times are left out of every test and model: same numbers as without their rows
    assert res.tests["total"]["welch_anova"]["df1"] == len(bt) - 1 - 2
    kept = small[~small.year.isin(hidden)]
    alone = trend(kept, "jse-s", time="year", id="id", scales=["total"])
    shown_term = f"time[{[t for t in bt.index if t not in hidden and t != 1][0]}]"
    assert d["mixed_model"]["terms"][shown_term] == alone.to_dict()["scales"]["total"][
        "mixed_model"]["terms"][shown_term]
    assert d["tests"]["kruskal"] == alone.to_dict()["scales"]["total"]["tests"]["kruskal"]


@pytest.mark.parametrize("kept", [None, 6, 0])
def test_shown_times_are_the_times_trend_shows(raw, kept):
    """shown_times (trend's first step, what the report forks its invariance child from)
    names the times of trend's by-time table and which of them it shows, including a small
    time, its complement, and a time that is gone."""
    data = raw if kept is None else pd.concat([raw[raw.year < 4],
                                               raw[raw.year == 4].head(kept)])
    res = trend(data, "jse-s", time="year", id="id", mixed=False)
    bt = res.by_time
    expected = {t: not bt[bt.time == t]["suppressed"].any() for t in sorted(res.times)}
    got = shown_times(data, "jse-s", time="year", id="id")
    assert got == expected and list(got) == sorted(res.times)
    assert sum(not v for v in got.values()) == {None: 0, 6: 2, 0: 0}[kept]
    with pytest.raises(InputError):  # the same errors as trend
        shown_times(data, "jse-s", time="no_such_column")


def test_result_interface(result):
    assert isinstance(result, TrendResult)
    d = result.to_dict()
    json.dumps(d)  # JSON-ready
    assert d["instrument"] == "jse-s" and d["time"] == "year"
    row = d["scales"]["total"]["by_time"][2]
    assert set(row) >= {"time", "n", "mean", "sd", "ci", "diff_vs_ref", "diff_ci", "d_vs_ref",
                        "d_ci", "g_vs_ref", "suppressed"}
    assert "Intercept" in d["scales"]["total"]["mixed_model"]["terms"]
    assert set(d["scales"]["total"]["linear_slope"]) >= {"estimate", "se", "ci", "p"}
    assert "Total (range 20-140)" in result.summary()
    assert "<table" in result._repr_html_()
    assert list(result.to_frame().columns)[:3] == ["scale", "time", "n"]


def test_reference_option_and_errors(raw):
    res = trend(raw, "jse-s", time="year", reference="2", scales=["total"], mixed=False)
    assert res.reference == 2 and res.times[0] == 2
    with pytest.raises(InputError, match="reference time"):
        trend(raw, "jse-s", time="year", reference=9)
    with pytest.raises(InputError, match="time column 'wave'"):
        trend(raw, "jse-s", time="wave")
    with pytest.raises(InputError, match="unknown scale"):
        trend(raw, "jse-s", time="year", scales=["nope"])
    with pytest.raises(DataError, match="two distinct"):
        trend(raw[raw.year == 1], "jse-s", time="year")
    with pytest.raises(InputError, match="neither the scale columns"):
        trend(raw[["id", "year"]], "jse-s", time="year")
    with pytest.raises(InputError, match="min_cell"):
        trend(raw, "jse-s", time="year", min_cell=0)


def test_one_suppression_pattern_for_every_scale(raw):
    # the total is missing for all but 8 year-4 rows (an item left blank), the subscales are
    # complete: hiding year 4 for the total only would let its mean be rebuilt from the
    # subscale means, so year 4 (and its complement) is hidden for every scale
    data = pd.concat([raw[["id", "year", "cohort"]], score(raw, "jse-s").scores[SCALES]], axis=1)
    year4 = data.index[data.year == 4]
    data.loc[year4[8:], "total"] = np.nan
    res = trend(data, "jse-s", time="year", id="id", cohort="cohort", mixed=False)
    bt = res.by_time
    pattern = bt.pivot(index="time", columns="scale", values="suppressed")
    assert pattern.loc[4].all()
    assert (pattern.nunique(axis=1) == 1).all()  # same flags in every column
    assert pattern.sum().eq(2).all()
    hidden = pattern.index[pattern["total"]]
    ct = res.cohort_trajectories
    assert ct[ct.time.isin(hidden)]["mean"].isna().all()
    cpat = ct.pivot_table(index=["cohort", "time"], columns="scale", values="suppressed")
    assert (cpat.nunique(axis=1) == 1).all()
    assert set(res.scores["time"]) == set(bt.time[~bt.suppressed])


# --------------------------------------------------------------------------- privacy property
def _determined(target: np.ndarray, equations: np.ndarray) -> bool:
    """Whether the linear functional ``target`` of the unknown cell counts is fixed by the
    published ``equations`` (``target`` in their row space)."""
    if equations.shape[0] == 0:
        return False
    r = np.linalg.matrix_rank(equations)
    return np.linalg.matrix_rank(np.vstack([equations, target])) == r


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(counts=st.lists(st.integers(0, 14), min_size=27, max_size=27),
       min_cell=st.sampled_from([5, 10]))
def test_trend_never_publishes_a_recoverable_small_cell(counts, min_cell):
    """No small cell (time, time × cohort, time × group, or the never-shown time × cohort ×
    group) can be recovered from the counts trend() publishes: the by-time n, the cohort and
    group tables' n. The unknowns are the 3-way counts of the cells whose time × cohort and
    time × group rows appear in the output (the attacker knows which rows exist)."""
    levels = [(t, c, g) for t in (1, 2, 3) for c in ("A", "B", "C") for g in ("w", "m", "x")]
    rows = [(t, c, g) for (t, c, g), k in zip(levels, counts, strict=True) for _ in range(k)]
    assume(len({t for t, _, _ in rows}) >= 2)
    rng = np.random.default_rng(len(rows))
    data = pd.DataFrame(rows, columns=["year", "cohort", "gender"])
    data["total"] = rng.normal(110, 10, len(data)).round()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = trend(data, "jse-s", time="year", cohort="cohort", group="gender",
                    scales=["total"], mixed=False, min_cell=min_cell)
    bt, ct, gt = res.by_time, res.cohort_trajectories, res.group_stats
    unknown = [(t, c, g) for (t, c, g) in levels
               if ((ct.time == t) & (ct.cohort == c)).any()
               and ((gt.time == t) & (gt.gender == g)).any()]
    index = {cell: i for i, cell in enumerate(unknown)}
    true = np.array([counts[levels.index(cell)] for cell in unknown], dtype=float)

    def functional(t, c=None, g=None):
        v = np.zeros(len(unknown))
        for (tt, cc, gg), i in index.items():
            if tt == t and c in (None, cc) and g in (None, gg):
                v[i] = 1
        return v

    published, hidden = [], []
    for r in bt.itertuples():
        (hidden if r.suppressed else published).append((functional(r.time), r))
    for r in ct.itertuples():
        (hidden if r.suppressed else published).append((functional(r.time, c=r.cohort), r))
    for r in gt.itertuples():
        (hidden if r.suppressed else published).append((functional(r.time, g=r.gender), r))
    eq = np.array([f for f, _ in published]).reshape(-1, len(unknown))
    for f, r in published:  # the published counts are the true ones, and never small
        assert r.n >= min_cell and f @ true == r.n
    for f, r in hidden:
        assert r.n is None or pd.isna(r.n)
        if r.primary_suppressed and f.any():
            assert not _determined(f, eq), r
    for cell, i in index.items():
        if 0 < true[i] < min_cell:
            e = np.zeros(len(unknown))
            e[i] = 1
            assert not _determined(e, eq), cell


def test_text_time_labels_use_their_sorted_order(raw):
    # "Y1".."Y4" are not numbers: the linear trend uses their order 1..4, whatever the reference
    text = raw.assign(year="Y" + raw.year.astype(str))
    res = trend(text, "jse-s", time="year", scales=["total"], reference="Y2", mixed=False)
    num = trend(raw, "jse-s", time="year", scales=["total"], reference=2, mixed=False)
    assert res.times == ["Y2", "Y1", "Y3", "Y4"]
    assert res.tests["total"]["linear_trend"]["estimate"] == pytest.approx(
        num.tests["total"]["linear_trend"]["estimate"], rel=RTOL_EXACT)
    a = res.by_time.set_index("time")["d_vs_ref"]
    b = num.by_time.set_index("time")["d_vs_ref"]
    assert a["Y3"] == pytest.approx(b[3], rel=RTOL_EXACT)
