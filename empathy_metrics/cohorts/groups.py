"""Entering cohorts and groups (e.g. gender) by time: cell means and, within each time, each
level against a reference level (different students: a cross-sectional comparison)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._base import DIFFERENT_STUDENTS, TrendInput, _apply_pattern, _compare, _describe


def _cells(inp: TrendInput, scale: str, col: str) -> pd.DataFrame:
    """Level × time n, mean, SD and 95 % CI of ``scale`` with the level pattern applied."""
    cells = []
    for (level, t), vals in inp.rows(scale).groupby([col, inp.time], sort=True)[scale]:
        d = _describe(vals.to_numpy(dtype=float))
        cells.append({"scale": scale, col: level, "time": t,
                      **{k: d.get(k, float("nan")) for k in
                         ("n", "mean", "sd", "ci_low", "ci_high")}})
    ct = pd.DataFrame(cells)
    if ct.empty:
        return ct
    return _apply_pattern(ct, inp.cell_patterns[col], [col, "time"])


def level_tables(inp: TrendInput, *, group_reference: Any = None,
                 cohort_reference: Any = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Cohort trajectories, group statistics, group differences and cohort differences.

    Cells use every row with a score (hidden times are blank through the pattern); the
    differences use the shown times only (:func:`_level_differences`). The group reference
    defaults to the largest group, the cohort reference to the first cohort.
    """
    cohort_rows: list[pd.DataFrame] = []
    group_rows: list[pd.DataFrame] = []
    gdiff_rows: list[dict[str, Any]] = []
    cdiff_rows: list[dict[str, Any]] = []
    cohort, group, time = inp.cohort, inp.group, inp.time
    for scale in inp.scales:
        for col, store in ((cohort, cohort_rows), (group, group_rows)):
            if col is None or col not in inp.cell_patterns:
                continue
            ct = _cells(inp, scale, col)
            if not ct.empty:
                store.append(ct)
        sub = inp.shown_rows(scale)
        for col, table_rows, ref_level, out_rows, names in (
                (group, group_rows, group_reference, gdiff_rows, ("group", "reference_group")),
                (cohort, cohort_rows, cohort_reference, cdiff_rows,
                 ("cohort", "reference_cohort"))):
            largest = col is not None and col == group
            if col is None or not table_rows or table_rows[-1]["scale"].iloc[0] != scale:
                continue
            out_rows.extend(_level_differences(sub, scale, time, col, table_rows[-1],
                                               inp.times, ref_level, names,
                                               largest_first=largest))

    def cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    gdiff = pd.DataFrame(gdiff_rows)
    cdiff = pd.DataFrame(cdiff_rows)
    for table in (gdiff, cdiff):
        if not table.empty:
            table["design"] = DIFFERENT_STUDENTS
    return cat(cohort_rows), cat(group_rows), gdiff, cdiff


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


def _level_differences(sub: pd.DataFrame, scale: str, time: str, col: str, table: pd.DataFrame,
                       times: list[Any], reference_level: Any, names: tuple[str, str],
                       *, largest_first: bool = False) -> list[dict[str, Any]]:
    """Within each time, each level of ``col`` against the reference level (shown cells only):
    Welch difference and Cohen's d / Hedges' g with CIs (:func:`_compare`).

    Without ``reference_level`` the reference is the first level in sorted order, or with
    ``largest_first`` the level with the most rows (ties: the first in sorted order)."""
    levels = sorted(pd.unique(sub[col].dropna()).tolist(), key=str)
    ref = levels[0] if levels else None
    if largest_first and levels:
        counts = sub[col].value_counts()
        ref = max(levels, key=lambda lev: (counts.get(lev, 0), -levels.index(lev)))
    if reference_level is not None:
        found = [lev for lev in levels if str(lev) == str(reference_level)]
        if not found:
            raise InputError(f"{names[1].replace('_', ' ')} {reference_level!r} is not a value "
                             f"of '{col}'", hint=f"values are {', '.join(map(str, levels))}")
        ref = found[0]
    levels = [ref] + [lev for lev in levels if lev != ref]
    # each cell of the table (shown?, primarily suppressed?) and the scores of each time x
    # level, looked up once instead of one boolean mask per comparison (the first row of a
    # cell, as the masks took it)
    cells: dict[tuple[Any, Any], tuple[bool, bool]] = {}
    for key, hidden, primary in zip(zip(table["time"].tolist(), table[col].tolist(),
                                        strict=True),
                                    table["suppressed"].astype(bool).tolist(),
                                    table["primary_suppressed"].astype(bool).tolist(),
                                    strict=True):
        cells.setdefault(key, (not hidden, primary))
    scores = {key: grp.to_numpy(float) for key, grp in
              sub[scale].groupby([sub[time], sub[col]], sort=False)}
    empty = np.empty(0)
    rows = []
    for t in times:
        if not cells.get((t, ref), (False, False))[0]:
            continue
        yr = scores.get((t, ref), empty)
        for lev in levels[1:]:
            if (t, lev) not in cells:
                continue  # no such cell at this time (e.g. a cohort not yet in that year)
            row = {"scale": scale, "time": t, names[0]: lev, names[1]: ref}
            shown, primary = cells[(t, lev)]
            if shown:
                row.update(_compare(scores.get((t, lev), empty), yr), suppressed=False,
                           primary_suppressed=False)
            else:  # hidden as its cell is: small, or a complement
                row.update(suppressed=True, primary_suppressed=primary)
            rows.append(row)
    return rows

