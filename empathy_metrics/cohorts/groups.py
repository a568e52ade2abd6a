"""Entering cohorts and groups (e.g. gender) by time: cell means and, within each time, each
level against a reference level (different students: a cross-sectional comparison)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._base import DIFFERENT_STUDENTS, TrendInput, _apply_pattern, _compare_many, _mean_cis


def _cell_scores(inp: TrendInput, col: str) -> dict[str, dict[tuple[Any, Any], np.ndarray]]:
    """Scale -> ``(level, time)`` -> the scores of that cell, in row order.

    The cells of each scale are the groups of ``inp.rows(scale).groupby([col, time],
    sort=True)`` in that order (rows with a missing level are left out); the rows are grouped
    once for every scale (``ngroup``) and each scale's cells are contiguous slices of its rows
    stably sorted by group, instead of one grouping of a filtered frame per scale.
    """
    frame = inp.frame
    gid = frame.groupby([col, inp.time], sort=True).ngroup().to_numpy(dtype=float)
    has = ~np.isnan(gid)
    level_v, time_v = frame[col].to_numpy(), frame[inp.time].to_numpy()
    out = {}
    for scale in inp.scales:
        y = frame[scale].to_numpy(dtype=float)
        rows = np.flatnonzero(has & ~np.isnan(y))
        rows = rows[np.argsort(gid[rows], kind="stable")]
        cuts = np.flatnonzero(np.diff(gid[rows]) != 0) + 1
        bounds = np.concatenate([[0], cuts, [rows.size]]) if rows.size else np.zeros(1, int)
        out[scale] = {(level_v[rows[a]], time_v[rows[a]]): y[rows[a:b]]
                      for a, b in zip(bounds[:-1], bounds[1:], strict=True)}
    return out


def _cells(inp: TrendInput, col: str, scores: dict[str, dict[tuple[Any, Any], np.ndarray]]
           ) -> pd.DataFrame:
    """Level × time n, mean, SD and 95 % CI of every scale with the level pattern applied
    (the t quantiles of all cells in one call, :func:`._base._mean_cis`)."""
    keys = [(scale, level, t) for scale in inp.scales for (level, t) in scores[scale]]
    if not keys:
        return pd.DataFrame()
    ys = [y for scale in inp.scales for y in scores[scale].values()]
    n = np.array([y.size for y in ys])
    mean = np.array([y.mean() for y in ys])
    sd = np.array([y.std(ddof=1) if y.size > 1 else np.nan for y in ys])
    lo, hi = _mean_cis(mean, sd, n)
    ct = pd.DataFrame({"scale": [k[0] for k in keys], col: [k[1] for k in keys],
                       "time": [k[2] for k in keys], "n": n, "mean": mean, "sd": sd,
                       "ci_low": lo, "ci_high": hi})
    return _apply_pattern(ct, inp.cell_patterns[col], [col, "time"])


def level_tables(inp: TrendInput, *, group_reference: Any = None,
                 cohort_reference: Any = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Cohort trajectories, group statistics, group differences and cohort differences.

    Cells use every row with a score (hidden times are blank through the pattern); the
    differences use the shown times only (:func:`_level_differences`). The group reference
    defaults to the largest group, the cohort reference to the first cohort. Every
    comparison of both tables is computed in one :func:`._base._compare_many` call.
    """
    cohort, group = inp.cohort, inp.group
    tables = {"cohort": pd.DataFrame(), "group": pd.DataFrame()}
    diffs: dict[str, list[dict[str, Any]]] = {"cohort": [], "group": []}
    pending: list[tuple[dict[str, Any], np.ndarray, np.ndarray]] = []
    scores_of: dict[str, dict[str, dict[tuple[Any, Any], np.ndarray]]] = {}
    for role, col, ref_level, names in (
            ("group", group, group_reference, ("group", "reference_group")),
            ("cohort", cohort, cohort_reference, ("cohort", "reference_cohort"))):
        if col is None or col not in inp.cell_patterns:
            continue
        scores = scores_of.setdefault(col, _cell_scores(inp, col))
        tables[role] = _cells(inp, col, scores)
        pat = inp.cell_patterns[col]
        flags = dict(zip(zip(pat[col].tolist(), pat["time"].tolist(), strict=True),
                         zip(pat["suppressed"].astype(bool).tolist(),
                             pat["primary_suppressed"].astype(bool).tolist(), strict=True),
                         strict=True))
        for scale in inp.scales:
            if scores[scale]:
                diffs[role].extend(_level_differences(
                    inp, scale, scores[scale], flags, ref_level, col, names, pending,
                    largest_first=col == group))
    for (row, _, _), cmp in zip(pending, _compare_many([(x, y) for _, x, y in pending]),
                                strict=True):
        row.update(cmp)
        row.update(suppressed=False, primary_suppressed=False)
    gdiff = pd.DataFrame(diffs["group"])
    cdiff = pd.DataFrame(diffs["cohort"])
    for table in (gdiff, cdiff):
        if not table.empty:
            table["design"] = DIFFERENT_STUDENTS
    return tables["cohort"], tables["group"], gdiff, cdiff


def small_group_note(inp: TrendInput) -> None:
    """Note when a small group forces the complementary suppression of another."""
    group = inp.group
    if group is None or group not in inp.cell_patterns:
        return
    gs = inp.cell_patterns[group]
    if gs["suppressed"].all() or (gs["primary_suppressed"].any()
                                  and gs.groupby(group)["suppressed"].all().sum() >= 2):
        from ..suppression import FOLDED_LABEL

        small = set(gs.loc[gs["primary_suppressed"], group].astype(str))
        way_out = (f"the folded group '{FOLDED_LABEL}' is still small, so only more "
                   "respondents can show the rest" if small == {FOLDED_LABEL} else
                   f"fold small categories into one '{FOLDED_LABEL}' group "
                   "(fold_small_groups=True, --fold-small-groups) to compare the rest")
        inp.notes.append(f"a '{group}' category with fewer than {inp.min_cell} respondents "
                         f"forces complementary suppression of another; {way_out}")


def _level_differences(inp: TrendInput, scale: str, scores: dict[tuple[Any, Any], np.ndarray],
                       flags: dict[tuple[Any, Any], tuple[bool, bool]], reference_level: Any,
                       col: str, names: tuple[str, str],
                       pending: list[tuple[dict[str, Any], np.ndarray, np.ndarray]], *,
                       largest_first: bool = False) -> list[dict[str, Any]]:
    """Within each shown time, each level of ``col`` against the reference level (shown cells
    only): Welch difference and Cohen's d / Hedges' g with CIs (:func:`._base._compare`).

    ``scores`` are one scale's cells (:func:`_cell_scores`), ``flags`` the level pattern
    (``(level, time)`` -> ``(suppressed, primary)``; a cell missing from it is hidden). The
    rows of shown cells are returned unfinished, with their two score arrays appended to
    ``pending`` for the caller to compare all at once. Without ``reference_level`` the
    reference is the first level in sorted order, or with ``largest_first`` the level with the
    most scores at the shown times (ties: the first in sorted order)."""
    kept = set(inp.kept)
    counts: dict[Any, int] = {}
    for (lev, t), y in scores.items():
        if t in kept:
            counts[lev] = counts.get(lev, 0) + y.size
    levels = sorted(counts, key=str)
    ref = levels[0] if levels else None
    if largest_first and levels:
        ref = max(levels, key=lambda lev: (counts.get(lev, 0), -levels.index(lev)))
    if reference_level is not None:
        found = [lev for lev in levels if str(lev) == str(reference_level)]
        if not found:
            raise InputError(f"{names[1].replace('_', ' ')} {reference_level!r} is not a value "
                             f"of '{col}'", hint=f"values are {', '.join(map(str, levels))}")
        ref = found[0]
    levels = [ref] + [lev for lev in levels if lev != ref]
    empty = np.empty(0)
    rows = []
    for t in inp.times:
        if (ref, t) not in scores or flags.get((ref, t), (True, True))[0]:
            continue
        yr = scores[(ref, t)] if t in kept else empty
        for lev in levels[1:]:
            if (lev, t) not in scores:
                continue  # no such cell at this time (e.g. a cohort not yet in that year)
            row = {"scale": scale, "time": t, names[0]: lev, names[1]: ref}
            hidden, primary = flags.get((lev, t), (True, True))
            if not hidden:
                pending.append((row, scores[(lev, t)] if t in kept else empty, yr))
            else:  # hidden as its cell is: small, or a complement
                row.update(suppressed=True, primary_suppressed=primary)
            rows.append(row)
    return rows
