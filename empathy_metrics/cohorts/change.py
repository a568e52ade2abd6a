"""Change that matters: measurement error, change on the answer scale and reliable change.

Colliver et al. (2010) showed that declines reported as "significant" are often about 0.2 points
per item on a 7-point answer scale, well inside the measurement error of one student's score.
This module puts beside each time's change from the reference (scale points and Cohen's d, from
:mod:`.describe`): the standard error of measurement of each time, the change in points per item,
and the share of students (followed from the reference time) whose change exceeds the
Jacobson–Truax reliable-change threshold in each direction (from :mod:`.longitudinal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._base import DIFFERENT_STUDENTS, RCI_CRITICAL, TrendInput
from .longitudinal import cronbach_alpha

_COLUMNS = ["scale", "time", "n", "sd", "alpha", "alpha_source", "sem", "sem_per_item",
            "n_items", "diff_vs_ref", "diff_per_item", "diff_per_item_ci_low",
            "diff_per_item_ci_high", "d_vs_ref", "rc_threshold", "rc_threshold_per_item",
            "n_pairs", "reliable_decline_share", "reliable_improvement_share", "design",
            "suppressed", "primary_suppressed"]


def time_alpha(inp: TrendInput, scale: str, t: Any, alpha: Mapping[str, float] | None,
               alpha_by_time: Mapping[Any, Mapping[str, float]] | None) -> tuple[float, str]:
    """Reliability of ``scale`` at time ``t`` and where it came from.

    Order as for the reliable change index: ``alpha`` (one value for every time), then
    ``alpha_by_time[t]``, then Cronbach's alpha of the keyed items of the respondents with a
    score at ``t`` (complete rows; psych ``alpha()$total$raw_alpha``); NaN when none applies.
    """
    if alpha is not None and scale in alpha:
        return float(alpha[scale]), "given"
    if alpha_by_time is not None and scale in alpha_by_time.get(t, {}):
        return float(alpha_by_time[t][scale]), "given for this time"
    if inp.keyed is not None:
        y = inp.score_arrays[scale]
        at = np.flatnonzero((inp.time_values == t) & ~np.isnan(y))
        return cronbach_alpha(inp.keyed_items(scale, at)), "Cronbach alpha"
    return float("nan"), "none"


def _rc_shares(rc: pd.DataFrame) -> dict[str, dict[Any, dict[str, Any]]]:
    """Scale -> target time -> threshold (scale points), pairs and the two reliable-change
    shares (the first row of each scale and time gives the threshold and pairs)."""
    out: dict[str, dict[Any, dict[str, Any]]] = {}
    if rc.empty:
        return out
    cols = {c: rc[c].tolist() for c in ("scale", "to", "category", "share", "s_diff", "n")}
    shares: dict[tuple[str, Any], dict[str, Any]] = {}
    for scale, to, cat, share, s_diff, n in zip(*cols.values(), strict=True):
        by_to = out.setdefault(scale, {})
        if to not in by_to:
            by_to[to] = {"rc_threshold": RCI_CRITICAL * float(s_diff), "n_pairs": n}
        shares.setdefault((scale, to), {})[cat] = share
    for (scale, to), by_cat in shares.items():
        out[scale][to].update(reliable_decline_share=by_cat.get("decline"),
                              reliable_improvement_share=by_cat.get("improvement"))
    return out


def _per_item_divisor(inp: TrendInput, scale: str) -> float:
    """Items per scale point: ``k`` for sum scores, 1 for mean scores (already per item)."""
    return 1.0 if inp.inst.method == "mean" else float(len(inp.inst.scales[scale]))


def change_table(inp: TrendInput, by_time: pd.DataFrame, reliable_change: pd.DataFrame, *,
                 alpha: Mapping[str, float] | None = None,
                 alpha_by_time: Mapping[Any, Mapping[str, float]] | None = None
                 ) -> pd.DataFrame:
    """Per scale and time: SEM, change per item beside scale points and d, reliable change.

    Parameters
    ----------
    inp
        The prepared data of :func:`~empathy_metrics.cohorts.trend`.
    by_time
        The (suppressed) table of :func:`.describe.by_time_table`: n, SD, change and d.
    reliable_change
        The (suppressed) table of :func:`.longitudinal.longitudinal_tables`, with ``share``.
    alpha, alpha_by_time
        Reliabilities given by the user (see :func:`time_alpha`).

    Returns
    -------
    pandas.DataFrame
        Columns ``scale, time, n, sd, alpha, alpha_source, sem, sem_per_item, n_items,
        diff_vs_ref, diff_per_item`` (with CI), ``d_vs_ref, rc_threshold,
        rc_threshold_per_item, n_pairs, reliable_decline_share, reliable_improvement_share,
        design, suppressed``. Hidden times are blank.

    Notes
    -----
    ``SEM_t = SD_t·√(1 − α_t)`` (classical test theory; R ``sd(x) * sqrt(1 - alpha)``).
    Change per item = change in scale points / k for a sum score of k items (a mean score is
    already per item), with the Welch CI divided alike — the unit of the answer scale
    (Colliver et al. 2010). The reliable-change threshold is ``1.96·S_diff`` scale points with
    ``S_diff = √2·SEM_ref`` (Jacobson & Truax 1991); the shares are of the students seen at
    both the reference time and ``t`` whose change is beyond it downwards (reliable decline) or
    upwards (reliable improvement), shown only when the counts behind them are shown. The
    change columns compare different students (the respondents of each time); the shares
    follow the same students.

    References
    ----------
    Colliver JA, Conlee MJ, Verhulst SJ, Dorsey JK (2010) Reports of the decline of empathy
    during medical education are greatly exaggerated. Acad Med 85:588–593. Jacobson NS, Truax P
    (1991) J Consult Clin Psychol 59:12–19.
    """
    rows = []
    shares = _rc_shares(reliable_change)
    bt = {c: by_time[c].tolist() for c in ("scale", "time", "n", "sd", "suppressed",
                                            "primary_suppressed", "diff_vs_ref", "diff_ci_low",
                                            "diff_ci_high", "d_vs_ref")}
    for scale in inp.scales:
        k = _per_item_divisor(inp, scale)
        rc = shares.get(scale, {})
        for i in (i for i, s in enumerate(bt["scale"]) if s == scale):
            r = {c: v[i] for c, v in bt.items()}
            row: dict[str, Any] = {"scale": scale, "time": r["time"], "n": r["n"],
                                   "sd": r["sd"], "n_items": len(inp.inst.scales[scale]),
                                   "suppressed": bool(r["suppressed"]),
                                   "primary_suppressed": bool(r["primary_suppressed"])}
            if not r["suppressed"]:
                a, src = time_alpha(inp, scale, r["time"], alpha, alpha_by_time)
                sem = r["sd"] * np.sqrt(1 - a) if 0 < a < 1 else np.nan
                row.update(alpha=a, alpha_source=src, sem=sem, sem_per_item=sem / k)
            row.update(diff_vs_ref=r["diff_vs_ref"], diff_per_item=r["diff_vs_ref"] / k,
                       diff_per_item_ci_low=r["diff_ci_low"] / k,
                       diff_per_item_ci_high=r["diff_ci_high"] / k, d_vs_ref=r["d_vs_ref"],
                       design=DIFFERENT_STUDENTS)
            if r["time"] in rc and not r["suppressed"]:
                row.update(rc[r["time"]])
                row["rc_threshold_per_item"] = row["rc_threshold"] / k
            rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=_COLUMNS)
    out["n_pairs"] = out["n_pairs"].astype(object).where(out["n_pairs"].notna(), None)
    return out
