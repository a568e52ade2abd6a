"""Cohort-sequential model (cohorts.cohort_sequential) against lme4/lmerTest
(tests/reference/attrition.R on tests/reference/data/attrition_sim.csv), and the
same-students / different-students marking of every comparison."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from empathy_metrics.cohorts import trend

from .conftest import REF

#: unbalanced data: lme4 estimates, SEs and log-likelihoods within 1e-4 relative (issue 10.1)
RTOL_LME4 = 1e-4
#: Satterthwaite df and p-values as lmerTest within 1e-3 (issue 10.1)
RTOL_LMERTEST = 1e-3


@pytest.fixture(scope="module")
def seq_ref():
    return json.loads((REF / "attrition.json").read_text())["cohort_sequential"]


@pytest.fixture(scope="module")
def seq_result():
    data = pd.read_csv(REF / "data" / "attrition_sim.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trend(data, "jse-s", time="year", id="id", cohort="cohort", scales=["total"])


def test_year_and_cohort_effects_match_lmer(seq_result, seq_ref):
    cs = seq_result.cohort_sequential["total"]
    assert cs["n_obs"] == seq_ref["n_obs"] and cs["cohort_reference"] == 2019
    assert set(cs["terms"]) == set(seq_ref["terms"])
    for name, want in seq_ref["terms"].items():
        got = cs["terms"][name]
        assert got["estimate"] == pytest.approx(want["estimate"], rel=RTOL_LME4), name
        assert got["se"] == pytest.approx(want["se"], rel=RTOL_LME4), name
        assert got["df"] == pytest.approx(want["df"], rel=RTOL_LMERTEST), name
        assert got["p"] == pytest.approx(want["p"], rel=RTOL_LMERTEST), name
        expected = ("same students" if name.startswith("time[") else "different students"
                    if name.startswith("cohort[") else None)
        assert got["design"] == expected
    assert cs["sigma"] == pytest.approx(seq_ref["sigma"], rel=RTOL_LME4)
    assert cs["sd_intercept"] == pytest.approx(seq_ref["sd_intercept"], rel=RTOL_LME4)


def test_cohort_by_year_interaction_lrt_matches_anova(seq_result, seq_ref):
    lrt = seq_result.cohort_sequential["total"]["interaction"]
    want = seq_ref["interaction"]
    # lme4 drops the 6 rank-deficient interaction columns (cohorts not yet in a year): 3 df
    assert lrt["df"] == want["df"] == want["n_params_interaction"] - want["n_params_main"]
    assert len(lrt["terms"]) == 3
    assert lrt["loglik_main"] == pytest.approx(want["loglik_main"], rel=RTOL_LME4)
    assert lrt["loglik_interaction"] == pytest.approx(want["loglik_interaction"],
                                                      rel=RTOL_LME4)
    assert lrt["chisq"] == pytest.approx(want["chisq"], abs=1e-3)
    assert lrt["p"] == pytest.approx(want["p"], rel=RTOL_LMERTEST)
    assert "cohort × year interaction: chi2(3)" in seq_result.summary()


def test_every_comparison_says_which_students(seq_result):
    js = seq_result.to_dict()
    json.dumps(js)
    total = js["scales"]["total"]
    assert {r["design"] for r in total["by_time"]} == {"different students"}
    assert {r["design"] for r in total["tests"]["adjacent"]} == {"different students"}
    assert total["tests"]["linear_trend"]["design"] == "different students"
    assert total["mixed_model"]["design"] == "same students"
    assert total["linear_slope"]["design"] == "same students"
    for key in ("paired", "reliable_change"):
        assert {r["design"] for r in total[key]} == {"same students"}
    assert {r["design"] for r in total["cohort_differences"]} == {"different students"}
    assert {r["design"] for r in total["attrition"]} == {"different students"}
    assert {r["design"] for r in total["meaningful_change"]} == {"different students"}


def test_hidden_cells_never_enter_the_model():
    from empathy_metrics.cohorts._base import prepare_trend_input
    from empathy_metrics.cohorts.cohort_sequential import cohort_sequential
    from empathy_metrics.instruments import load_instrument

    data = pd.read_csv(REF / "data" / "attrition_sim.csv")
    inp = prepare_trend_input(data, load_instrument("jse-s"), time="year", id="id",
                              cohort="cohort", group=None, reference=None, min_cell=10,
                              scales=["total"])
    pat = inp.cell_patterns["cohort"]
    pat.loc[(pat["cohort"] == 2021) & (pat["time"] == 2), "suppressed"] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, notes = cohort_sequential(inp, "total")
    hidden_rows = int(((data.cohort == 2021) & (data.year == 2)).sum())
    assert out["n_obs"] == len(data) - hidden_rows and not notes
    assert "cohort[2021]:time[2]" not in out["interaction"]["terms"]


def test_skipped_without_cohorts_or_when_cells_are_hidden():
    data = pd.read_csv(REF / "data" / "attrition_sim.csv")
    # year 4 down to 5 answers: hidden, with year 3 as its complement. Only published totals
    # (each shown year's n, the hidden years' n together) are margins, so only the cells of
    # the hidden years go and the model runs on the rest (issue 8: no cascade through every
    # cohort); a single shown cohort still leaves no model
    small = data.drop(index=data[data.year == 4].index[5:])
    one = data[data.cohort == 2019]
    one = pd.concat([one, data[(data.cohort == 2020) & (data.year == 1)].iloc[:5]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = trend(small, "jse-s", time="year", id="id", cohort="cohort", scales=["total"],
                    mixed=True)
        lone = trend(one, "jse-s", time="year", id="id", cohort="cohort", scales=["total"],
                     mixed=True)
        plain = trend(data, "jse-s", time="year", id="id", scales=["total"])
    ct = res.cohort_trajectories
    assert (ct["suppressed"] == ct["time"].isin([3, 4])).all()
    model = res.cohort_sequential["total"]
    assert model is not None and "time[3]" not in model["terms"]
    assert model["n_obs"] == int(ct.loc[~ct["suppressed"], "n"].sum())
    assert lone.cohort_sequential["total"] is None
    assert any("cohort-sequential model skipped" in n for n in lone.notes)
    assert plain.cohort_sequential["total"] is None  # no cohort column
