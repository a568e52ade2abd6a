"""Scores by time, change from the reference and norms (cohorts.describe) against R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from empathy_metrics.cohorts import trend
from empathy_metrics.scoring import score

from .conftest import ATOL_EFFECTSIZE, RTOL_EXACT, RTOL_NCT, SCALES


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


def test_hidden_reference_shows_no_change(raw):
    small = pd.concat([raw[raw.year > 1], raw[raw.year == 1].head(4)])
    res = trend(small, "jse-s", time="year", id="id", scales=["total"])
    bt = res.by_time
    assert bt.loc[bt.time == 1, "suppressed"].all()
    assert bt[["diff_vs_ref", "d_vs_ref", "g_vs_ref", "d_ci_low"]].isna().all().all()
    assert res.mixed_model["total"] is None
    assert any("longitudinal analyses skipped" in n for n in res.notes)


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
