"""Tests across times (cross-sectional: different students at each time): Welch's ANOVA,
Kruskal–Wallis, the OLS linear trend and Holm-adjusted adjacent-time Welch tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._classical import kruskal_wallis
from ..effect_sizes import holm, welch_anova, welch_difference
from ._base import DIFFERENT_STUDENTS, TrendInput, _ols_slope


def _scale_tests(inp: TrendInput, scale: str) -> dict[str, Any]:
    y_by_t = inp.values[scale]
    kept = inp.kept
    usable = [t for t in kept if y_by_t[t].size >= 2]
    ordered = sorted(usable)
    tst: dict[str, Any] = {}
    if len(usable) >= 2 and all(y_by_t[t].std(ddof=1) > 0 for t in usable):
        tst["welch_anova"] = welch_anova([y_by_t[t] for t in ordered])
    if len(usable) >= 2:
        kw = kruskal_wallis(*[y_by_t[t] for t in ordered])
        tst["kruskal"] = {"statistic": float(kw.statistic), "df": len(ordered) - 1,
                          "p": float(kw.pvalue)}
    xs = np.concatenate([np.full(y_by_t[t].size, inp.tnum[t]) for t in kept] + [[]])
    ys = np.concatenate([y_by_t[t] for t in kept] + [[]])
    tst["linear_trend"] = _ols_slope(ys, xs)
    if tst["linear_trend"] is not None:
        tst["linear_trend"]["design"] = DIFFERENT_STUDENTS
    adj = []
    for a, b in zip(ordered[:-1], ordered[1:], strict=True):
        w = welch_difference(y_by_t[b], y_by_t[a])
        adj.append({"from": a, "to": b, "diff": w.estimate, "ci": list(w.ci), "t": w.t,
                    "df": w.df, "p": w.p, "suppressed": False,
                    "design": DIFFERENT_STUDENTS})
    for item, p_adj in zip(adj, holm([a["p"] for a in adj]), strict=True):
        item["p_holm"] = float(p_adj)
    tst["adjacent"] = adj
    return tst


def time_tests(inp: TrendInput) -> dict[str, dict[str, Any]]:
    """Per scale, the tests across the shown times.

    ``welch_anova`` (R ``oneway.test``), ``kruskal`` (R ``kruskal.test``, tie-corrected),
    ``linear_trend`` (OLS slope of score on numeric time, R ``lm``) and ``adjacent`` (Welch
    ``t.test`` of each pair of neighbouring times with Holm-adjusted p, R ``p.adjust``). Only
    shown times enter, so no test result depends on a hidden cell.
    """
    return {scale: _scale_tests(inp, scale) for scale in inp.scales}
