"""Mixed models, paired and reliable change (cohorts.longitudinal) against lme4 and R."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from empathy_metrics.cohorts import cronbach_alpha, trend
from empathy_metrics.errors import DegenerateDataWarning

from .conftest import REF, RTOL_EXACT, RTOL_LMER, SCALES


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


def test_cronbach_alpha_formula():
    rng = np.random.default_rng(0)
    items = rng.normal(size=(50, 4)) + rng.normal(size=(50, 1))
    k = 4
    want = k / (k - 1) * (1 - items.var(0, ddof=1).sum() / items.sum(1).var(ddof=1))
    assert cronbach_alpha(items) == pytest.approx(want)
    assert np.isnan(cronbach_alpha(np.ones((10, 3))))


@pytest.mark.parametrize("scale", SCALES)
def test_mixed_satterthwaite_ci_p_and_linear_variances_match_lmer(result, ref, scale):
    # df, p and t-based CI as lmerTest (tests/reference/mixed.R, "trend")
    satt = json.loads((REF / "mixed.json").read_text())["trend"][scale]
    r = ref["scales"][scale]
    m = result.mixed_model[scale]
    for term, want in satt["categorical"].items():
        assert m["terms"][term]["df"] == pytest.approx(want["df"], rel=RTOL_LMER)
        assert m["terms"][term]["ci"] == pytest.approx(want["ci"], rel=RTOL_LMER)
        if want["p"] > 1e-300:
            assert np.log(m["terms"][term]["p"]) == pytest.approx(np.log(want["p"]),
                                                                  rel=RTOL_LMER)
    lin = result.linear_slope[scale]
    assert lin["ci"] == pytest.approx(satt["linear"]["time"]["ci"], rel=RTOL_LMER)
    assert lin["df"] == pytest.approx(satt["linear"]["time"]["df"], rel=RTOL_LMER)
    assert lin["sigma"] == pytest.approx(r["mixed_linear"]["sigma"], rel=RTOL_LMER)
    assert lin["sd_intercept"] == pytest.approx(r["mixed_linear"]["sd_intercept"], rel=RTOL_LMER)
    assert m["converged"] and m["sd_slope"] is None


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


def test_duplicate_id_time_rows_warn(raw):
    dup = pd.concat([raw, raw[raw.year == 2].head(3)], ignore_index=True)
    with pytest.warns(DegenerateDataWarning, match="3 row"):
        res = trend(dup, "jse-s", time="year", id="id", scales=["total"], mixed=False)
    assert any("duplicate id" in n for n in res.notes)


def test_wide_is_pivot_table_first_on_arrays():
    """_wide: pivot_table(aggfunc="first") of scored rows (duplicate id x time: the first row;
    missing ids left out; ids in the pivot's sorted order), and _paired_diff its dropna()."""
    from empathy_metrics.cohorts._base import _paired_diff, _wide

    rng = np.random.default_rng(5)
    ids = rng.choice(np.array(["s3", "s1", "s10", "s2", None], dtype=object), 60)
    tv = rng.choice([1, 2, 3], 60)
    y = rng.normal(100, 10, 60)
    frame = pd.DataFrame({"id": ids, "t": tv, "y": y})
    want = frame.pivot_table(index="id", columns="t", values="y", aggfunc="first")
    got = _wide(ids, tv, y)
    assert sorted(got) == list(want.columns)
    for t in want.columns:
        assert np.array_equal(got[t], want[t].to_numpy(), equal_nan=True)
    pair = want[[1, 3]].dropna()
    assert np.array_equal(_paired_diff(got, 1, 3), (pair[3] - pair[1]).to_numpy())
    assert _paired_diff(got, 1, 9).size == 0


def test_models_alone_are_the_models_of_the_full_tables(raw):
    """longitudinal_tables(changes=False) fits the same models and skips the change tables."""
    from empathy_metrics.cohorts._base import prepare_trend_input
    from empathy_metrics.cohorts.longitudinal import longitudinal_tables
    from empathy_metrics.instruments import load_instrument

    inst = load_instrument("jse-s")
    kw = dict(time="year", id="id", cohort=None, group=None, reference=None, min_cell=10,
              scales=["total"])
    full = longitudinal_tables(prepare_trend_input(raw, inst, **kw), {"total": None})
    alone = longitudinal_tables(prepare_trend_input(raw, inst, **kw), {"total": None},
                                changes=False)
    assert json.dumps(alone[0], default=str) == json.dumps(full[0], default=str)
    assert alone[1] == full[1]
    assert alone[2].empty and alone[3].empty and not full[2].empty and not full[3].empty
