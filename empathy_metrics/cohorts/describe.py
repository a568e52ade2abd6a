"""Scores by time: descriptives, change from the reference time and the scores against the
instrument's published norm (cross-sectional: the students who answered at each time)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..instruments import Instrument
from ..suppression import protected_whiskers
from ._base import TrendInput, _apply_pattern, _compare_many, _describe

_CHANGE_COLS = ["diff_vs_ref", "diff_ci_low", "diff_ci_high", "diff_p", "d_vs_ref", "d_ci_low",
                "d_ci_high", "g_vs_ref", "g_ci_low", "g_ci_high"]
_BY_TIME_STATS = ["mean", "sd", "se", "ci_low", "ci_high", "median", "q1", "q3", "iqr",
                  "whisker_low", "whisker_high", "diff_vs_ref", "diff_ci_low", "diff_ci_high",
                  "diff_p", "d_vs_ref", "d_ci_low", "d_ci_high", "g_vs_ref", "g_ci_low",
                  "g_ci_high"]


def _scale_by_time(inp: TrendInput, scale: str,
                   pairs: list[tuple[dict[str, Any], np.ndarray, np.ndarray]]
                   ) -> list[dict[str, Any]]:
    """The rows of one scale; the comparisons with the reference go to ``pairs``."""
    y_by_t = inp.values[scale]
    ref_y = y_by_t[inp.reference]
    rows = []
    for t in inp.times:
        row = {"scale": scale, "time": t, **_describe(y_by_t[t])}
        # box-plot whiskers that show no single student's score (figure rule, issue 8)
        row["whisker_low"], row["whisker_high"] = protected_whiskers(y_by_t[t], inp.min_cell)
        if t != inp.reference:
            pairs.append((row, y_by_t[t], ref_y))
        elif ref_y.size > 1:
            row.update(diff_vs_ref=0.0, d_vs_ref=0.0, g_vs_ref=0.0)
        rows.append(row)
    return rows


def by_time_table(inp: TrendInput) -> pd.DataFrame:
    """Per scale and time: n, mean, SD, SE, 95 % CI, quartiles, whiskers and the change from
    the reference (Welch difference with CI and p, Cohen's d and Hedges' g with CIs).

    Hidden times are blank; with a hidden reference no change is shown. The comparisons of
    every scale are computed together (:func:`._base._compare_many`: one vectorised
    effect-size call) and the time pattern is applied once to the table of all scales.
    """
    pairs: list[tuple[dict[str, Any], np.ndarray, np.ndarray]] = []
    rows = [row for s in inp.scales for row in _scale_by_time(inp, s, pairs)]
    for (row, _, _), cmp in zip(pairs, _compare_many([(y, r) for _, y, r in pairs]),
                                strict=True):
        row.update({("diff_vs_ref" if k == "diff" else f"{k}_vs_ref" if k in ("d", "g")
                     else k): v for k, v in cmp.items()})
    table = pd.DataFrame(rows).reindex(columns=["scale", "time", "n", *_BY_TIME_STATS])
    table = _apply_pattern(table, inp.pat_time, ["time"])
    if not inp.shown[inp.reference]:  # a change from a hidden reference would reveal its mean
        table.loc[:, _CHANGE_COLS] = np.nan
    return table


def score_table(inp: TrendInput) -> pd.DataFrame:
    """The individual scores of the shown times (``scale``, ``time``, ``value``)."""
    cells = [(s, t, inp.values[s][t]) for s in inp.scales for t in inp.kept]
    if not cells:
        return pd.DataFrame(columns=["scale", "time", "value"])
    # one frame from the joined cells (the scale and time of each score as lists, so that
    # their dtypes are inferred as for one frame per cell)
    return pd.DataFrame({"scale": [s for s, _, y in cells for _ in range(y.size)],
                         "time": [t for _, t, y in cells for _ in range(y.size)],
                         "value": np.concatenate([y for _, _, y in cells])})


def _norm_rows(inst: Instrument, scale: str, y_by_t: Mapping[Any, np.ndarray],
               kept: list[Any]) -> list[dict[str, Any]]:
    from ..norms import percentile_rank

    found = inst.norms_for(scale, "all")
    if not found or not found[0].sd > 0:
        return []
    norm = found[0]
    rows = []
    for t in kept:
        y = y_by_t[t]
        if y.size == 0:
            continue
        pct, method = percentile_rank(y, norm)
        pct_mean, _ = percentile_rank(np.array([y.mean()]), norm)
        rows.append({"scale": scale, "time": t, "n": int(y.size), "mean": float(y.mean()),
                     "norm_group": norm.group, "norm_mean": norm.mean, "norm_sd": norm.sd,
                     "mean_z": float((y.mean() - norm.mean) / norm.sd),
                     "percentile_of_mean": float(pct_mean[0]),
                     "median_percentile": float(np.median(pct)),
                     "pct_below_norm_mean": float(100 * np.mean(y < norm.mean)),
                     "method": method, "citation": norm.citation})
    return rows


def norm_table(inp: TrendInput) -> pd.DataFrame:
    """Per scale and shown time, the scores against the instrument's norm (group ``"all"``):
    mean z ``(x̄ − μ)/σ``, percentile rank of the mean, median percentile rank
    (:func:`empathy_metrics.norms.percentile_rank`) and the share below the norm mean."""
    rows = []
    for scale in inp.scales:
        rows.extend(_norm_rows(inp.inst, scale, inp.values[scale], inp.kept))
    return pd.DataFrame(rows)
