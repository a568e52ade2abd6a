"""Tests across times (cohorts.compare) against R stats::oneway.test, kruskal.test, lm."""

from __future__ import annotations

import pytest

from .conftest import RTOL_EXACT, SCALES


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
