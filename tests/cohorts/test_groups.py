"""Entering cohorts and groups by time (cohorts.groups) against R."""

from __future__ import annotations

import numpy as np
import pytest

from empathy_metrics.cohorts import trend
from empathy_metrics.errors import InputError

from .conftest import ATOL_EFFECTSIZE, RTOL_EXACT, RTOL_NCT


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


# --------------------------------------------------------------------------- added checks
def test_cohort_sd_and_ci_match_r(result, ref):
    ct = result.cohort_trajectories
    ct = ct[ct.scale == "total"].set_index(["cohort", "time"])
    for want in ref["scales"]["total"]["cohorts"]:
        got = ct.loc[(want["cohort"], want["time"])]
        assert got["sd"] == pytest.approx(want["sd"], rel=RTOL_EXACT)
        assert [got.ci_low, got.ci_high] == pytest.approx(want["ci"], rel=RTOL_EXACT)


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
