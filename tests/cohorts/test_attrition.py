"""Attrition, completers-only sensitivity and response rates (cohorts.attrition) against R
(tests/reference/attrition.R on tests/reference/data/attrition_sim.csv)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from empathy_metrics.cohorts import trend
from empathy_metrics.errors import InputError

from .conftest import ATOL_EFFECTSIZE, REF, RTOL_EXACT, RTOL_LMER


@pytest.fixture(scope="module")
def att_ref():
    return json.loads((REF / "attrition.json").read_text())


@pytest.fixture(scope="module")
def att_data():
    return pd.read_csv(REF / "data" / "attrition_sim.csv")


@pytest.fixture(scope="module")
def enrolled():
    return pd.read_csv(REF / "data" / "attrition_enrolled.csv")


@pytest.fixture(scope="module")
def att_result(att_data, enrolled):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trend(att_data, "jse-s", time="year", id="id", cohort="cohort",
                     enrolled=enrolled, scales=["total"])


def test_who_left_matches_r(att_result, att_ref):
    at = att_result.attrition.set_index("cohort")
    assert list(at.index) == [2019, 2020, 2021, "all"]  # 2022 has no later year yet
    for want in att_ref["attrition"]:
        got = at.loc[want["cohort"] if want["cohort"] == "all" else int(want["cohort"])]
        assert not got["suppressed"] and got["design"] == "different students"
        for key in ("n_baseline", "n_seen_later", "n_not_seen"):
            assert got[key] == want[key], key
        for key in ("mean_seen_later", "sd_seen_later", "mean_not_seen", "sd_not_seen", "diff",
                    "diff_p", "d", "g"):
            assert got[key] == pytest.approx(want[key], rel=RTOL_EXACT), key
        assert [got["diff_ci_low"], got["diff_ci_high"]] == pytest.approx(want["diff_ci"],
                                                                          rel=RTOL_EXACT)
        assert [got["d_ci_low"], got["d_ci_high"]] == pytest.approx(want["d_ci"],
                                                                    abs=ATOL_EFFECTSIZE)
        assert got["share_not_seen"] == pytest.approx(want["n_not_seen"] / want["n_baseline"])


def test_completers_vs_all_available_match_r(att_result, att_ref):
    se = att_result.sensitivity
    for want in att_ref["sensitivity"]:
        rows = se[se["time"] == want["time"]].set_index("estimate")
        allav = rows.loc["all available"]
        assert allav["design"] == "different students" and allav["n"] == want["n_all"]
        assert allav["diff"] == pytest.approx(want["all_diff"], rel=RTOL_EXACT)
        assert [allav["ci_low"], allav["ci_high"]] == pytest.approx(want["all_ci"],
                                                                    rel=RTOL_EXACT)
        comp = rows.loc["completers only"]
        assert comp["design"] == "same students"
        assert rows.loc["mixed model", "design"] == "same students"
        non_completers = want["n_all"] - want["n_completers_at_time"]
        if want["n_completers"] >= 10 and not 0 < non_completers < 10:
            assert comp["n"] == want["n_completers"]
            assert comp["diff"] == pytest.approx(want["completers_diff"], rel=RTOL_EXACT)
            assert [comp["ci_low"], comp["ci_high"]] == pytest.approx(want["completers_ci"],
                                                                      rel=RTOL_EXACT)
            assert comp["p"] == pytest.approx(want["completers_p"], rel=1e-6)
            assert comp["gap"] == pytest.approx(want["completers_diff"] - want["all_diff"])
        else:  # year 4: 4 non-completers would follow from n, so nothing is shown
            assert comp["suppressed"] and comp["n"] is None and np.isnan(comp["diff"])
    # the point of the table: the respondents' means hide the completers' decline
    t3 = se[(se["time"] == 3)].set_index("estimate")["diff"]
    assert t3["completers only"] < t3["mixed model"] < t3["all available"]


def test_response_rates_match_r(att_result, att_ref):
    rr = att_result.response_rates.set_index(["cohort", "time"])
    assert len(rr) == len(att_ref["response_rates"])
    for want in att_ref["response_rates"]:
        got = rr.loc[(want["cohort"], want["time"])]
        assert got["enrolled"] == want["enrolled"] and got["n"] == want["n"]
        for key in ("rate", "rate_change", "mean", "mean_change"):
            col = {"rate": "response_rate"}.get(key, key)
            assert got[col] == pytest.approx(want[key], rel=RTOL_EXACT, abs=1e-12), key


def test_json_contract_adds_the_three_tables(att_result):
    js = att_result.to_dict()
    json.dumps(js)
    total = js["scales"]["total"]
    for key in ("by_time", "tests", "mixed_model", "linear_slope", "paired", "reliable_change",
                "cohorts", "groups", "group_differences", "cohort_differences", "norms",
                "distribution", "histogram"):
        assert key in total  # every existing key kept
    assert total["attrition"] and total["sensitivity"] and total["response_rates"]
    assert {r["design"] for r in total["sensitivity"]} == {"same students",
                                                           "different students"}
    text = att_result.summary()
    assert "not seen again after 1, cohort 2019" in text and "completers only" in text


def test_small_groups_of_leavers_are_suppressed_with_a_complement(att_data):
    # keep only 3 of the 2021 students who were never seen again: their group is too small,
    # and the 2021 seen-later group must go too (the cohort's baseline n is shown)
    ids_later = set(att_data.loc[att_data.year > 1, "id"])
    lost_2021 = [i for i in att_data.loc[(att_data.cohort == 2021) & (att_data.year == 1), "id"]
                 if i not in ids_later]
    data = att_data[~att_data["id"].isin(lost_2021[3:])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = trend(data, "jse-s", time="year", id="id", cohort="cohort", scales=["total"],
                    mixed=False)
    at = res.attrition.set_index("cohort")
    assert at.loc[2021, "suppressed"] and at.loc[2021, ["diff", "d"]].isna().all()
    assert at.loc[2021, "n_not_seen"] is None
    # the "all" row would reveal the hidden 2021 counts from the other cohorts: another
    # cohort is hidden as well
    shown = at[~at["suppressed"]]
    assert at["suppressed"].sum() >= 2
    # the complement is one other cohort, not a chain through every cohort, and the one that
    # hides the fewest students (least loss): 2020 (51 seen later + 15 not seen = 66) rather
    # than 2019 (62 + 10 = 72, the greedy "next-smallest leavers" choice)
    assert at.loc[2020, "suppressed"] and not at.loc[2019, "suppressed"]
    assert at.loc[2021, "primary_suppressed"] and not at.loc[2020, "primary_suppressed"]
    for r in shown.itertuples():
        assert r.n_not_seen >= 10 and r.n_seen_later >= 10


def test_without_cohorts_or_ids(att_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = trend(att_data, "jse-s", time="year", id="id", scales=["total"], mixed=False,
                    enrolled=pd.DataFrame({"year": [1, 2, 3, 4],
                                           "enrolled": [270, 205, 140, 75]}))
        cross = trend(att_data.drop(columns="id"), "jse-s", time="year", scales=["total"])
    assert list(res.attrition["cohort"]) == ["all"]
    rr = res.response_rates.set_index("time")
    assert rr.loc[1, "n"] == int((att_data.year == 1).sum())
    assert rr.loc[2, "response_rate"] == pytest.approx((att_data.year == 2).sum() / 205)
    assert cross.attrition.empty and cross.sensitivity.empty and cross.response_rates.empty


@pytest.mark.parametrize("frame, match", [
    (pd.DataFrame({"cohort": [2019], "enrolled": [70]}), "lack the column"),
    (pd.DataFrame({"cohort": [2019], "year": [1], "enrolled": [-3]}), "positive whole"),
    (pd.DataFrame({"cohort": [2019], "year": [1], "enrolled": ["many"]}), "positive whole"),
    (pd.DataFrame({"cohort": [2019, 2019], "year": [1, 1], "enrolled": [70, 71]}), "twice"),
    (pd.DataFrame({"cohort": [2019], "year": [1], "enrolled": [5]}), "only 5 enrolled"),
])
def test_bad_enrolment_counts(att_data, frame, match):
    with pytest.raises(InputError, match=match):
        trend(att_data, "jse-s", time="year", id="id", cohort="cohort", scales=["total"],
              mixed=False, enrolled=frame)


def test_mixed_model_estimate_is_lmer(att_result, att_ref):
    # the "mixed model" rows are trend's mixed-model terms (lme4 REML)
    se = att_result.sensitivity
    mm = att_result.mixed_model["total"]["terms"]
    for t in (2, 3, 4):
        got = se[(se["time"] == t) & (se["estimate"] == "mixed model")]["diff"].iloc[0]
        assert got == pytest.approx(mm[f"time[{t}]"]["estimate"], rel=RTOL_LMER)


def test_fast_isin_of_arrow_strings_equals_pandas_isin():
    from empathy_metrics.cohorts.attrition import _isin

    ids = pd.Series(["s1", "s2", None, "s10", "s2"], dtype="str")
    values = {"s2", "s10", "x"}
    assert _isin(ids, values).tolist() == ids.isin(values).tolist() == [
        False, True, False, True, True]
    nums = pd.Series([1, 2, 3])
    assert _isin(nums, {2}).tolist() == [False, True, False]
