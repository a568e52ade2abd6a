"""compare_groups (against R: tests/reference/compare_groups.R), reliability_by, and the scale
column collision of the cohort analyses."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import empathy_metrics as em
from empathy_metrics.errors import InputError, ResultKeyError, ScaleColumnWarning

from .conftest import ATOL_EFFECTSIZE, REF, RTOL_EXACT

AGREE = ["-A1", "A2", "A3", "A4", "A5"]


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(REF / "data" / "bfi.csv")


@pytest.fixture(scope="module")
def r_ref():
    return json.loads((REF / "compare_groups.json").read_text())


@pytest.fixture(scope="module")
def by_education(bfi):
    return em.compare_groups(bfi, AGREE, group="education")


def test_compare_groups_agrees_with_r(by_education, r_ref):
    res = by_education
    assert res.reference == r_ref["reference"]  # the largest group by default
    tab = res["total"]
    ref_row = tab.loc[r_ref["reference"]]
    assert ref_row["n"] == r_ref["n_reference"]
    assert ref_row["mean"] == pytest.approx(r_ref["mean_reference"], rel=RTOL_EXACT)
    for c in r_ref["comparisons"]:
        row = tab.loc[c["group"]]
        assert row["n"] == c["n"]
        assert row["mean"] == pytest.approx(c["mean"], rel=RTOL_EXACT)
        assert row["sd"] == pytest.approx(c["sd"], rel=RTOL_EXACT)
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(c["ci"], rel=RTOL_EXACT)
        assert row["diff_vs_ref"] == pytest.approx(c["diff"], rel=RTOL_EXACT)
        assert [row["diff_ci_low"], row["diff_ci_high"]] == pytest.approx(c["diff_ci"],
                                                                          rel=RTOL_EXACT)
        assert row["diff_p"] == pytest.approx(c["p"], rel=1e-7)
        assert row["p_holm"] == pytest.approx(c["p_holm"], rel=1e-7)
        assert row["d_vs_ref"] == pytest.approx(c["d"], rel=RTOL_EXACT)
        assert row["g_vs_ref"] == pytest.approx(c["g"], rel=1e-6)  # effectsize's J approx.
        assert [row["d_ci_low"], row["d_ci_high"]] == pytest.approx(c["d_ci"],
                                                                    abs=ATOL_EFFECTSIZE)
        assert [row["g_ci_low"], row["g_ci_high"]] == pytest.approx(c["g_ci"], abs=1e-4)
    wa, kw = res.tests["total"]["welch_anova"], res.tests["total"]["kruskal"]
    for key in ("statistic", "df1", "df2", "p"):
        assert wa[key] == pytest.approx(r_ref["welch_anova"][key], rel=1e-8)
    for key in ("statistic", "df", "p"):
        assert kw[key] == pytest.approx(r_ref["kruskal"][key], rel=1e-8)


def test_compare_groups_works_on_one_survey_and_names_the_reference(bfi):
    one_time = bfi.assign(year=1)
    res = em.compare_groups(one_time, AGREE, group="gender", reference=2)
    assert res.reference == 2 and list(res["total"].index) == [2, 1]
    with pytest.raises(InputError, match=r"reference time 9 is not a value of 'gender'"):
        em.compare_groups(bfi, AGREE, group="gender", reference=9)
    with pytest.raises(InputError, match=r"group column 'sex' not found|column 'sex'"):
        em.compare_groups(bfi, AGREE, group="sex")


def test_compare_groups_suppresses_small_groups_and_leaves_them_out_of_the_tests(bfi):
    small = bfi[(bfi.education != 1) | (bfi.index % 40 == 0)]  # education 1: a handful
    n1 = int(((small.education == 1) & small[["A1", "A2", "A3", "A4", "A5"]].notna().all(axis=1))
             .sum())
    assert 0 < n1 < 10
    res = em.compare_groups(small, AGREE, group="education")
    tab = res["total"]
    assert tab.loc[1, "suppressed"] and pd.isna(tab.loc[1, "mean"])
    assert tab["suppressed"].sum() >= 2  # a complement, so the small group cannot be recovered
    shown = [g for g in tab.index if not tab.loc[g, "suppressed"]]
    assert res.tests["total"]["kruskal"]["df"] == len(shown) - 1
    assert any("suppressed" in n for n in res.notes)
    html = res._repr_html_()
    assert "suppressed: fewer than 10 respondents" in html and "Kruskal" in html and "Notes" in html
    assert "hidden so that a small group cannot be worked out" in html  # its complement


def test_compare_groups_result_display_lookup_and_copies(by_education):
    res = by_education
    frame = res.to_frame()
    frame.loc[:, "mean"] = 0.0
    assert res.table["mean"].iloc[0] != 0.0  # to_frame is a copy
    with pytest.raises(ResultKeyError, match=r"did you mean 'total'.*scales are 'total'"):
        res["totl"]
    with pytest.raises(KeyError):  # still a KeyError for code that catches it
        res["Agreeableness"]
    text = res.summary()
    assert "Welch ANOVA" in text and "reference 3" in text
    d = res.to_dict()
    assert d["reference"] == 3 and len(d["scales"]["total"]["groups"]) == 5
    assert json.loads(res.to_json())["group"] == "education"


def test_reliability_by_is_reliability_per_subset(bfi):
    res = em.reliability_by(bfi, AGREE, by="gender")
    assert res.time == "gender"
    for g, sub in bfi.groupby("gender"):
        alpha = em.reliability(sub, AGREE, omega=False)["total"].alpha
        row = res.table[(res.table.time == g) & (res.table.scale == "total")]
        assert float(row["alpha"].iloc[0]) == pytest.approx(alpha, rel=1e-12)
    assert em.reliability_by.__doc__ and "by" in em.reliability_by.__doc__


def test_a_column_named_like_a_scale_never_replaces_scoring():
    """The issue's case: a computed `total` column in the export was used instead of the items
    (a total of 50.00 every year, no warning)."""
    j = em.simulate(n_per_cohort=40)
    clean = em.trend(j, "jse-s", time="year", mixed=False)
    j["total"] = 50.0
    with pytest.warns(ScaleColumnWarning, match=r"'total'.*ignored.*computed from the items"):
        tr = em.trend(j, "jse-s", time="year", mixed=False)
    assert (j["total"] == 50.0).all()  # the input is not modified
    pd.testing.assert_frame_equal(tr.by_time, clean.by_time)
    with pytest.warns(ScaleColumnWarning, match="'total'"):
        cg = em.compare_groups(j, "jse-s", group="gender", scales=["total"])
    assert not np.allclose(cg["total"]["mean"].astype(float), 50.0)
    # scored data without item columns are still taken as they are
    scored = em.score(j.drop(columns="total"), "jse-s").scores[["total"]].assign(
        year=j["year"].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        st = em.trend(scored, "jse-s", time="year", scales=["total"], mixed=False)
    np.testing.assert_allclose(st.by_time["mean"].astype(float),
                               clean.by_time[clean.by_time.scale == "total"]["mean"].astype(
                                   float))


def test_a_list_of_columns_works_in_trend(bfi):
    tr = em.trend(bfi.assign(t=np.arange(len(bfi)) % 2), AGREE, time="t", mixed=False)
    assert tr.scales == ["total"] and tr.instrument.reverse_items == ["A1"]
