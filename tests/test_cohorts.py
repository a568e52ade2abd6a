"""trend() against R (lme4, effectsize, stats) on tests/reference/data/decline_sim.csv."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from empathy_metrics.cohorts import TrendResult, cronbach_alpha, trend
from empathy_metrics.errors import DataError, DegenerateDataWarning, InputError
from empathy_metrics.scoring import score

REF = Path(__file__).parent / "reference"
#: lme4 vs statsmodels REML: the issue asks for 1e-3 relative (observed about 1e-4).
RTOL_LMER = 1e-3
#: closed-form statistics agree to rounding.
RTOL_EXACT = 1e-9
#: noncentral-t limits vs R uniroot(tol = 1e-13) in tests/reference/cohorts.R.
RTOL_NCT = 1e-8
#: vs effectsize 0.8.3, which finds the limits by Nelder-Mead (optim abstol 1e-9): ~1e-6 only.
ATOL_EFFECTSIZE = 1e-6
SCALES = ["perspective_taking", "compassionate_care", "standing_in_patients_shoes", "total"]


@pytest.fixture(scope="module")
def ref():
    return json.loads((REF / "cohorts.json").read_text())


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(REF / "data" / "decline_sim.csv")


@pytest.fixture(scope="module")
def result(raw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no degenerate-data warnings on this data set
        return trend(raw, "jse-s", time="year", id="id", cohort="cohort", group="gender")


@pytest.mark.parametrize("scale", SCALES)
def test_by_time_matches_r(result, ref, scale):
    table = result.by_time[result.by_time.scale == scale].set_index("time")
    for row in ref["scales"][scale]["by_time"]:
        got = table.loc[row["time"]]
        assert not got["suppressed"]
        assert got["n"] == row["n"]
        for key in ("mean", "sd", "median", "q1", "q3"):
            assert got[key] == pytest.approx(row[key], rel=RTOL_EXACT)
        assert [got.ci_low, got.ci_high] == pytest.approx(row["ci"], rel=RTOL_EXACT)
        if "d" in row:
            assert got.diff_vs_ref == pytest.approx(row["diff"], rel=RTOL_EXACT)
            assert [got.diff_ci_low, got.diff_ci_high] == pytest.approx(row["diff_ci"],
                                                                         rel=RTOL_EXACT)
            assert got.d_vs_ref == pytest.approx(row["d"], rel=RTOL_EXACT)
            assert [got.d_ci_low, got.d_ci_high] == pytest.approx(row["d_ci_exact"], rel=RTOL_NCT)
            assert [got.d_ci_low, got.d_ci_high] == pytest.approx(row["d_ci"],
                                                                   abs=ATOL_EFFECTSIZE)
            assert got.g_vs_ref == pytest.approx(row["g"], rel=RTOL_EXACT)


@pytest.mark.parametrize("scale", SCALES)
def test_tests_match_r(result, ref, scale):
    r = ref["scales"][scale]
    t = result.tests[scale]
    for key in ("statistic", "df1", "df2", "p"):
        assert t["welch_anova"][key] == pytest.approx(r["welch_anova"][key], rel=1e-7)
    assert t["kruskal"]["statistic"] == pytest.approx(r["kruskal"]["statistic"], rel=1e-9)
    assert t["kruskal"]["p"] == pytest.approx(r["kruskal"]["p"], rel=1e-7)
    assert t["linear_trend"]["estimate"] == pytest.approx(r["ols_slope"]["estimate"], rel=1e-9)
    assert t["linear_trend"]["se"] == pytest.approx(r["ols_slope"]["se"], rel=1e-9)
    assert t["linear_trend"]["p"] == pytest.approx(r["ols_slope"]["p"], rel=1e-7)
    for got, want in zip(t["adjacent"], r["adjacent"], strict=True):
        assert (got["from"], got["to"]) == (want["from"], want["to"])
        assert got["p_holm"] == pytest.approx(want["p_holm"], rel=1e-7)
        assert got["diff"] == pytest.approx(want["diff"], rel=RTOL_EXACT)


@pytest.mark.parametrize("scale", SCALES)
def test_mixed_model_matches_lmer(result, ref, scale):
    r = ref["scales"][scale]["mixed_model"]
    m = result.mixed_model[scale]
    assert m["n_obs"] == r["n_obs"] and m["n_groups"] == r["n_groups"]
    assert set(m["terms"]) == set(r["terms"])
    for term, want in r["terms"].items():
        assert m["terms"][term]["estimate"] == pytest.approx(want["estimate"], rel=RTOL_LMER)
        assert m["terms"][term]["se"] == pytest.approx(want["se"], rel=RTOL_LMER)
        lo, hi = m["terms"][term]["ci"]
        assert lo < m["terms"][term]["estimate"] < hi
    assert m["sigma"] == pytest.approx(r["sigma"], rel=RTOL_LMER)
    assert m["sd_intercept"] == pytest.approx(r["sd_intercept"], rel=RTOL_LMER)
    lin = ref["scales"][scale]["mixed_linear"]
    assert result.linear_slope[scale]["estimate"] == pytest.approx(lin["estimate"], rel=RTOL_LMER)
    assert result.linear_slope[scale]["se"] == pytest.approx(lin["se"], rel=RTOL_LMER)


def test_paired_change_matches_r(result, ref):
    paired = result.paired[result.paired.scale == "total"].reset_index(drop=True)
    for got, want in zip(paired.itertuples(), ref["scales"]["total"]["paired"], strict=True):
        assert got.n == want["n"]
        assert got.mean_change == pytest.approx(want["diff"], rel=RTOL_EXACT)
        assert [got.ci_low, got.ci_high] == pytest.approx(want["ci"], rel=RTOL_EXACT)
        assert got.p == pytest.approx(want["p"], rel=1e-7)


def test_reliable_change_counts_and_suppression(raw, ref):
    res = trend(raw, "jse-s", time="year", id="id", min_cell=1, scales=["total"], mixed=False)
    rc = res.reliable_change
    assert rc["alpha"].iloc[0] == pytest.approx(ref["scales"]["total"]["alpha_baseline"], rel=1e-9)
    for want in ref["scales"]["total"]["reliable_change"]:
        rows = rc[rc.to == want["to"]].set_index("category")
        for cat in ("decline", "no_change", "improvement"):
            if want[cat] == 0:  # zero cells are suppressed, with a complement
                assert rows.loc[cat, "suppressed"]
                assert rows["suppressed"].sum() >= 2
            elif not rows.loc[cat, "suppressed"]:
                assert rows.loc[cat, "count"] == want[cat]
    # with the default threshold 10, year 1->2 has 9 improvements: hidden and complemented
    default = trend(raw, "jse-s", time="year", id="id", scales=["total"], mixed=False)
    r12 = default.reliable_change[default.reliable_change.to == 2].set_index("category")
    # the complement is the least informative cell, "no change", so the decline count stays
    assert r12.loc["improvement", "suppressed"] and r12.loc["no_change", "suppressed"]
    assert not r12.loc["decline", "suppressed"]
    want12 = next(w for w in ref["scales"]["total"]["reliable_change"] if w["to"] == 2)
    assert r12.loc["decline", "count"] == want12["decline"]


def test_alpha_mapping_overrides_fallback(raw):
    res = trend(raw, "jse-s", time="year", id="id", scales=["total"], mixed=False,
                alpha={"total": 0.5})
    assert set(res.reliable_change["alpha"]) == {0.5}
    assert res.reliable_change["alpha_source"].iloc[0] == "given"


def test_cohort_trajectories_match_r(result, ref):
    ct = result.cohort_trajectories
    ct = ct[ct.scale == "total"].set_index(["cohort", "time"])
    for want in ref["scales"]["total"]["cohorts"]:
        got = ct.loc[(want["cohort"], want["time"])]
        assert not got["suppressed"]
        assert got["n"] == want["n"]
        assert got["mean"] == pytest.approx(want["mean"], rel=RTOL_EXACT)


def test_groups_small_category_suppressed_with_complement(result):
    gs = result.group_stats[result.group_stats.scale == "total"]
    nb = gs[gs.gender == "nonbinary"]
    assert nb["suppressed"].all() and nb["primary_suppressed"].all() and nb["n"].isna().all()
    # within every year exactly one other cell is hidden so the year total cannot reveal it
    assert (gs.groupby("time")["suppressed"].sum() >= 2).all()


def test_group_differences_match_r(raw, ref):
    two = raw[raw.gender != "nonbinary"]
    res = trend(two, "jse-s", time="year", group="gender", group_reference="women",
                scales=["total"], mixed=False)
    gd = res.group_differences.set_index("time")
    for want in ref["scales"]["total"]["groups"]:
        got = gd.loc[want["time"]]
        assert got["group"] == "men" and got["reference_group"] == "women"
        assert got["diff"] == pytest.approx(want["diff"], rel=RTOL_EXACT)
        assert [got.diff_ci_low, got.diff_ci_high] == pytest.approx(want["diff_ci"],
                                                                     rel=RTOL_EXACT)
        assert got["d"] == pytest.approx(want["d"], rel=RTOL_EXACT)
        assert [got.d_ci_low, got.d_ci_high] == pytest.approx(want["d_ci_exact"], rel=RTOL_NCT)
        assert [got.d_ci_low, got.d_ci_high] == pytest.approx(want["d_ci"], abs=ATOL_EFFECTSIZE)


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


def test_hidden_reference_shows_no_change(raw):
    small = pd.concat([raw[raw.year > 1], raw[raw.year == 1].head(4)])
    res = trend(small, "jse-s", time="year", id="id", scales=["total"])
    bt = res.by_time
    assert bt.loc[bt.time == 1, "suppressed"].all()
    assert bt[["diff_vs_ref", "d_vs_ref", "g_vs_ref", "d_ci_low"]].isna().all().all()
    assert res.mixed_model["total"] is None
    assert any("longitudinal analyses skipped" in n for n in res.notes)


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


def test_cronbach_alpha_formula():
    rng = np.random.default_rng(0)
    items = rng.normal(size=(50, 4)) + rng.normal(size=(50, 1))
    k = 4
    want = k / (k - 1) * (1 - items.var(0, ddof=1).sum() / items.sum(1).var(ddof=1))
    assert cronbach_alpha(items) == pytest.approx(want)
    assert np.isnan(cronbach_alpha(np.ones((10, 3))))


# --------------------------------------------------------------------------- added checks
def test_cohort_sd_and_ci_match_r(result, ref):
    ct = result.cohort_trajectories
    ct = ct[ct.scale == "total"].set_index(["cohort", "time"])
    for want in ref["scales"]["total"]["cohorts"]:
        got = ct.loc[(want["cohort"], want["time"])]
        assert got["sd"] == pytest.approx(want["sd"], rel=RTOL_EXACT)
        assert [got.ci_low, got.ci_high] == pytest.approx(want["ci"], rel=RTOL_EXACT)


@pytest.mark.parametrize("scale", SCALES)
def test_mixed_wald_ci_p_and_linear_variances_match_lmer(result, ref, scale):
    r = ref["scales"][scale]
    m = result.mixed_model[scale]
    for term, want in r["mixed_model"]["terms"].items():
        assert m["terms"][term]["ci"] == pytest.approx(want["ci"], rel=RTOL_LMER)
        if want["p_wald"] > 1e-300:  # two-sided normal p from lme4's estimate and SE
            assert np.log(m["terms"][term]["p"]) == pytest.approx(np.log(want["p_wald"]),
                                                                  rel=RTOL_LMER)
    lin = result.linear_slope[scale]
    assert lin["ci"] == pytest.approx(r["mixed_linear"]["ci"], rel=RTOL_LMER)
    assert lin["sigma"] == pytest.approx(r["mixed_linear"]["sigma"], rel=RTOL_LMER)
    assert lin["sd_intercept"] == pytest.approx(r["mixed_linear"]["sd_intercept"], rel=RTOL_LMER)
    assert m["converged"] and m["sd_slope"] is None


def test_g_ci_matches_effectsize(result, ref):
    table = result.by_time[result.by_time.scale == "total"].set_index("time")
    for row in ref["scales"]["total"]["by_time"][1:]:
        got = table.loc[row["time"]]
        assert [got.g_ci_low, got.g_ci_high] == pytest.approx(row["g_ci"], abs=ATOL_EFFECTSIZE)


def test_norms_by_time(result, raw):
    from scipy import stats as st

    norms = result.norms
    assert set(norms["scale"]) == {"total"}  # the jse-s YAML has norms for the total only
    assert any("no published norm" in n and "perspective_taking" in n for n in result.notes)
    total = score(raw, "jse-s").scores["total"]
    for row in norms.itertuples():
        y = total[raw["year"] == row.time].to_numpy(float)
        assert row.n == y.size
        assert row.mean_z == pytest.approx((y.mean() - 116.54) / 10.85, rel=1e-12)
        assert row.percentile_of_mean == pytest.approx(100 * st.norm.cdf(row.mean_z), rel=1e-12)
        pct = 100 * st.norm.cdf((y - 116.54) / 10.85)
        assert row.median_percentile == pytest.approx(np.median(pct), rel=1e-12)
    d = result.to_dict()["scales"]
    assert d["total"]["norms"][0]["norm_mean"] == 116.54 and d["perspective_taking"]["norms"] == []


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


def test_item_change_function_and_in_trend(raw, result):
    from empathy_metrics.cohorts import ItemChangeResult, item_change
    from empathy_metrics.scoring import keyed_items

    ic = item_change(raw, "jse-s", time="year")
    assert isinstance(ic, ItemChangeResult)
    keyed = keyed_items(raw, "jse-s")
    want = keyed[raw.year == 3].mean() - keyed[raw.year == 1].mean()
    assert ic.change[3].to_numpy() == pytest.approx(want.to_numpy(), rel=1e-12)
    assert (ic.change[1] == 0).all()
    assert ic.n.tolist() == [164, 143, 147, 142]
    pd.testing.assert_frame_equal(result.items.change, ic.change)
    assert result.item_change is result.items.change
    frame = ic.to_frame()
    assert len(frame) == 20 * 4 and set(frame.columns) >= {"item", "time", "n", "change"}
    assert "JSE1" in ic.summary()
    json.dumps(ic.to_dict())
    # a small time is hidden (with a complement) and a hidden reference shows no change
    small = pd.concat([raw[raw.year > 1], raw[raw.year == 1].head(7)])
    hid = item_change(small, "jse-s", time="year")
    assert hid.suppressed[1] and hid.suppressed.sum() == 2 and hid.n[1] is None
    assert hid.change.isna().all().all() and hid.notes
    ref2 = item_change(raw, "jse-s", time="year", reference=2)
    assert ref2.times[0] == 2 and (ref2.change[2] == 0).all()


def test_reliability_by_time_matches_psych_alpha(raw, ref):
    from empathy_metrics.cohorts import ReliabilityByTimeResult, reliability_by_time

    rb = reliability_by_time(raw, "jse-s", time="year")
    assert isinstance(rb, ReliabilityByTimeResult)
    t1 = rb.table[rb.table.time == 1].set_index("scale")
    for scale in SCALES:
        assert t1.loc[scale, "alpha"] == pytest.approx(ref["scales"][scale]["alpha_baseline"],
                                                       rel=1e-9)
        assert t1.loc[scale, "ci_low"] < t1.loc[scale, "alpha"] < t1.loc[scale, "ci_high"]
    assert not rb.table["suppressed"].any()
    small = pd.concat([raw[raw.year < 4], raw[raw.year == 4].head(5)])
    rs = reliability_by_time(small, "jse-s", time="year", scales=["total"])
    assert rs.table.set_index("time").loc[4, "suppressed"]
    assert rs.table["suppressed"].sum() == 2
    assert rs.table.loc[rs.table.suppressed, ["n", "alpha", "ci_low"]].isna().all().all()
    json.dumps(rs.to_dict())


def test_reliable_change_hides_n_of_few_pairs(raw):
    # year 2 keeps all its rows, but only 6 of them belong to respondents seen in year 1
    data = raw.copy()
    y1 = set(data.loc[data.year == 1, "id"])
    y2 = data.index[(data.year == 2) & data.id.isin(y1)]
    data.loc[y2[6:], "id"] = "new" + data.loc[y2[6:], "id"]
    res = trend(data, "jse-s", time="year", id="id", scales=["total"], mixed=False)
    assert not res.by_time.set_index("time").loc[2, "suppressed"]
    rc = res.reliable_change
    to2 = rc[rc.to == 2]
    assert to2["n"].isna().all() and to2["count"].isna().all() and to2["suppressed"].all()
    assert rc[rc.to == 3]["n"].notna().all()
    paired = res.paired.set_index(["from", "to"])
    assert paired.loc[(1, 2), "suppressed"] and pd.isna(paired.loc[(1, 2), "mean_change"])


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


def test_cohort_differences_match_r(result, ref):
    cd = result.cohort_differences
    cd = cd[cd.scale == "total"].set_index(["time", "cohort"])
    wants = ref["scales"]["total"]["cohort_differences"]
    assert len(cd) == len(wants)
    for want in wants:
        got = cd.loc[(want["time"], want["cohort"])]
        assert got["reference_cohort"] == 2019 and not got["suppressed"]
        assert got["diff"] == pytest.approx(want["diff"], rel=RTOL_EXACT)
        assert [got.diff_ci_low, got.diff_ci_high] == pytest.approx(want["diff_ci"],
                                                                     rel=RTOL_EXACT)
        assert got["d"] == pytest.approx(want["d"], rel=RTOL_EXACT)
        assert [got.d_ci_low, got.d_ci_high] == pytest.approx(want["d_ci_exact"], rel=RTOL_NCT)
        assert got["g"] == pytest.approx(want["g"], rel=RTOL_EXACT)
    rows = result.to_dict()["scales"]["total"]["cohort_differences"]
    assert len(rows) == len(wants) and {"cohort", "reference_cohort", "d"} <= set(rows[0])


def test_cohort_reference_and_hidden_cells(raw):
    # cohort 2022 keeps only 6 year-4 respondents: that comparison is suppressed, not computed
    keep = ~((raw.cohort == 2022) & (raw.year == 4)) | (raw.index % 6 == 0)
    res = trend(raw[keep], "jse-s", time="year", cohort="cohort", scales=["total"],
                cohort_reference=2022, mixed=False)
    cd = res.cohort_differences.set_index(["time", "cohort"])
    assert set(cd["reference_cohort"]) == {2022}
    assert not (cd.index.get_level_values("time") == 4).any()  # the reference cell is hidden
    assert not cd.loc[(3, 2019), "suppressed"] and np.isfinite(cd.loc[(3, 2019), "d"])
    with pytest.raises(InputError, match="reference cohort 1999"):
        trend(raw, "jse-s", time="year", cohort="cohort", scales=["total"],
              cohort_reference=1999, mixed=False)


def test_duplicate_id_time_rows_warn(raw):
    dup = pd.concat([raw, raw[raw.year == 2].head(3)], ignore_index=True)
    with pytest.warns(DegenerateDataWarning, match="3 row"):
        res = trend(dup, "jse-s", time="year", id="id", scales=["total"], mixed=False)
    assert any("duplicate id" in n for n in res.notes)


# ---------------------------------------------------------------- distribution and histogram
def _hist_frame(counts_by_time: dict[int, list[int]]) -> pd.DataFrame:
    """Scored data (``total`` of jse-s, 20-140) from integer scores per time."""
    rows = [{"year": t, "total": float(v)} for t, vals in counts_by_time.items() for v in vals]
    return pd.DataFrame(rows, columns=["year", "total"])


def _check_histogram_protection(hist, data: pd.DataFrame, min_cell: int) -> None:
    from empathy_metrics.suppression import recoverable_cells

    table = hist.table
    for (_scale, t), bins in table.groupby(["scale", "time"]):
        y = data.loc[data["year"] == t, "total"].to_numpy(float)
        shown = bins[~bins["suppressed"]]
        counts = shown["count"].astype(int).to_numpy()
        # no shown bin describes 1..min_cell-1 respondents
        assert not ((counts >= 1) & (counts < min_cell)).any(), bins
        n_row = hist.n[hist.n["time"] == t].iloc[0]
        if n_row["suppressed"]:
            assert bins["suppressed"].all() and bins["count"].isna().all()
            continue
        assert n_row["n"] == y.size
        # the bins partition the scores: true counts add up to n, each bin its own range
        true = []
        for b in bins.itertuples():
            inside = (y >= b.low) & ((y < b.high) | ((b.high == 140) & (y <= b.high)))
            true.append(int(inside.sum()))
            if not b.suppressed:
                assert int(b.count) == true[-1]
            if b.open in ("low", "high"):
                assert true[-1] >= min_cell  # the tails hold at least min_cell
        assert sum(true) == y.size
        # hidden bins cannot be recovered from the shown bins and the time's n (one margin)
        hidden = bins["suppressed"].to_numpy(bool)
        rec = recoverable_cells(hidden, np.ones((1, hidden.size)))
        assert not rec.any()
        if hidden.any():
            assert hidden.sum() >= 2
            hidden_total = n_row["n"] - counts.sum()
            assert hidden_total == sum(np.array(true)[hidden])
            # zeros are shown, so a hidden bin holds >= 1 (an open tail bin >= min_cell): the
            # hidden total must leave every hidden bin more than one possible value
            lower = np.where(bins["open"].isna(), 1, min_cell)[hidden]
            assert hidden_total > lower.sum()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(20, 140), min_size=0, max_size=60), min_size=2,
                max_size=4),
       st.integers(2, 12), st.sampled_from([1, 3, 5, 10]))
def test_histogram_never_shows_a_small_bin(score_lists, min_cell, width):
    from empathy_metrics.cohorts import score_histogram

    data = _hist_frame({i + 1: v for i, v in enumerate(score_lists)})
    assume(data["year"].nunique() >= 2)
    hist = score_histogram(data, "jse-s", time="year", scales=["total"], bin_width=width,
                           min_cell=min_cell)
    _check_histogram_protection(hist, data, min_cell)


def test_histogram_tail_coding_and_complement_exactly():
    from empathy_metrics.cohorts import score_histogram

    # year 1 (bins of 5 from 20): 3 at 60, 8 at 92 -> bottom open bin "< 95" holds 11;
    # 12 at 100, 4 at 111 (primary), 15 at 117, 13 at 133; the 4 needs a complement: the
    # smallest interior bin, [100, 105) with 12 (not the open "< 95" with 11, which a reader
    # knows holds at least 10). Year 2 is plain.
    y1 = [60] * 3 + [92] * 8 + [100] * 12 + [111] * 4 + [117] * 15 + [133] * 13
    y2 = [100] * 10 + [110] * 10
    data = _hist_frame({1: y1, 2: y2})
    hist = score_histogram(data, "jse-s", time="year", scales=["total"], min_cell=10)
    b1 = hist.table[hist.table["time"] == 1].set_index("label")
    assert list(b1.index) == ["< 95", "[95, 100)", "[100, 105)", "[105, 110)", "[110, 115)",
                              "[115, 120)", "[120, 125)", "[125, 130)", "\u2265 130"]
    assert b1.loc["< 95", "open"] == "low" and b1.loc["\u2265 130", "open"] == "high"
    assert b1.loc["\u2265 130", "count"] == 13 and b1.loc["< 95", "count"] == 11
    assert b1.loc["[95, 100)", "count"] == 0 and not b1.loc["[95, 100)", "suppressed"]
    assert b1.loc["[110, 115)", "primary_suppressed"] and b1.loc["[110, 115)", "suppressed"]
    assert pd.isna(b1.loc["[110, 115)", "count"])
    assert b1.loc["[100, 105)", "suppressed"]
    assert not b1.loc["[100, 105)", "primary_suppressed"]
    assert b1["suppressed"].sum() == 2
    _check_histogram_protection(hist, data, 10)
    # the same bins from a trend result (default width 5 for the total)
    tr = trend(data, "jse-s", time="year", scales=["total"], mixed=False)
    pd.testing.assert_frame_equal(tr.histogram.reset_index(drop=True),
                                  hist.table.reset_index(drop=True))
    d = tr.distribution.set_index("time")
    # min 60 is one of 3 respondents: bottom-coded to the open bin's edge; max 133 is shared
    # by 13 >= 10: shown exactly. Mode: 117 (15 respondents).
    assert d.loc[1, "min"] == 95 and d.loc[1, "min_coded"]
    assert d.loc[1, "max"] == 133 and not d.loc[1, "max_coded"]
    assert d.loc[1, "mode"] == 117
    y = np.array(y1, float)
    assert [d.loc[1, k] for k in ("q1", "median", "q3")] == pytest.approx(
        np.percentile(y, [25, 50, 75]), rel=RTOL_EXACT)
    assert d.loc[1, "mean"] == pytest.approx(y.mean(), rel=RTOL_EXACT)
    # year 2: ties 100 and 110 (10 each) -> the smallest; min and max each shared by 10
    assert d.loc[2, "mode"] == 100 and d.loc[2, "min"] == 100 and d.loc[2, "max"] == 110
    assert not d.loc[2, "min_coded"] and not d.loc[2, "max_coded"]


def test_mode_needs_min_cell_and_rounds_to_whole_points():
    data = _hist_frame({1: list(range(60, 100)) + [100.4, 99.6], 2: [100] * 12})
    tr = trend(data, "jse-s", time="year", scales=["total"], mixed=False)
    d = tr.distribution.set_index("time")
    assert pd.isna(d.loc[1, "mode"])  # the most frequent score (100, 3 times) has 3 < 10
    data2 = _hist_frame({1: [100.4, 99.6] + [100] * 8 + list(range(60, 80)), 2: [100] * 12})
    d2 = trend(data2, "jse-s", time="year", scales=["total"], mixed=False).distribution
    assert d2.set_index("time").loc[1, "mode"] == 100  # 99.6 and 100.4 count as 100


def test_suppressed_time_shows_no_distribution_or_bins(raw):
    small = pd.concat([raw[raw.year < 4], raw[raw.year == 4].head(5)])
    tr = trend(small, "jse-s", time="year", mixed=False)
    hidden = set(tr.by_time.loc[tr.by_time["suppressed"], "time"])
    assert 4 in hidden and len(hidden) >= 2
    dist = tr.distribution[tr.distribution["time"].isin(hidden)]
    assert dist["suppressed"].all()
    assert dist[["n", "mean", "sd", "min", "q1", "median", "q3", "max", "mode"]].isna().all().all()
    bins = tr.histogram[tr.histogram["time"].isin(hidden)]
    assert bins["suppressed"].all() and bins["count"].isna().all()
    assert (bins.groupby(["scale", "time"]).size() == 1).all()  # not even the bin layout
    shown = tr.distribution[~tr.distribution["time"].isin(hidden)]
    assert not shown["suppressed"].any() and shown["mean"].notna().all()
    js = tr.to_dict()
    for scale in tr.scales:
        part = js["scales"][scale]
        assert {"by_time", "tests", "norms", "distribution", "histogram"} <= set(part)
        for row in part["distribution"]:
            if row["time"] in hidden:
                assert row["n"] is None and row["min"] is None and row["mode"] is None
        for row in part["histogram"]:
            if row["time"] in hidden:
                assert row["count"] is None
    json.dumps(js)


def test_default_bin_width_and_resolution():
    from empathy_metrics.cohorts import default_bin_width, score_resolution

    assert default_bin_width("jse-s", "total") == 5
    assert default_bin_width("jse-s", "standing_in_patients_shoes") == 1
    assert default_bin_width("jse-s", "perspective_taking") == 5
    assert score_resolution("jse-s", "total") == 1


def test_score_histogram_errors(result):
    from empathy_metrics.cohorts import score_histogram

    with pytest.raises(InputError):
        score_histogram(pd.DataFrame({"year": [1, 2], "total": [1.0, 2.0]}))
    with pytest.raises(InputError):
        score_histogram(result, min_cell=result.min_cell - 1)
    with pytest.raises(InputError):
        score_histogram(result, bin_width=0)
    h = score_histogram(result, scales=["total"], bin_width=10)
    assert h.bin_width == {"total": 10.0}
    assert set(h.to_dict()["scales"]) == {"total"}


def test_score_histogram_with_a_larger_min_cell_hides_more_times(raw):
    from empathy_metrics.cohorts import score_histogram

    small = pd.concat([raw[raw.year < 4], raw[raw.year == 4].head(15)])
    tr = trend(small, "jse-s", time="year", scales=["total"], mixed=False)
    assert not tr.by_time["suppressed"].any()  # 15 >= 10
    h = score_histogram(tr, min_cell=20)
    hidden = set(h.n.loc[h.n["suppressed"], "time"])
    assert 4 in hidden and len(hidden) == 2  # 15 < 20, plus a complement
    assert h.table.loc[h.table["time"].isin(hidden), "count"].isna().all()
    shown = h.table[~h.table["suppressed"]]["count"].astype(int)
    assert not ((shown >= 1) & (shown < 20)).any()
    assert h.n.loc[~h.n["suppressed"], "n"].map(type).eq(int).all()


def test_hidden_bins_are_not_pinned_by_their_lower_bounds():
    from empathy_metrics.cohorts import score_histogram

    # two single respondents (bins [100,105) and [110,115)) between the open tails: hiding
    # just the two would tell a reader both hold 1 (zeros are shown); a third bin is hidden
    y1 = [60] * 10 + [101] + [111] + [120] * 20 + [138] * 10
    # one respondent between two open tails of 10, nothing else: the time is one bin
    y2 = [60] * 10 + [101] + [138] * 10
    data = _hist_frame({1: y1, 2: y2})
    hist = score_histogram(data, "jse-s", time="year", scales=["total"], min_cell=10)
    b1 = hist.table[hist.table["time"] == 1].set_index("label")
    assert list(b1.index[b1["suppressed"]]) == ["[100, 105)", "[110, 115)", "[120, 125)"]
    b2 = hist.table[hist.table["time"] == 2]
    assert len(b2) == 1 and b2["label"].iloc[0] == "all scores" and b2["count"].iloc[0] == 21
    _check_histogram_protection(hist, data, 10)
