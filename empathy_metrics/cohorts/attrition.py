"""Attrition: who stopped answering, what completers-only estimates change, response rates.

The critique every empathy-decline study must answer (Colliver et al. 2010): response rates fall
across training years and the students who stop answering may differ in empathy, so a fall in
the mean of the respondents can be a change of *who* answers rather than a change *of the
students*. Three tables address it, per scale:

- :func:`attrition_table` — baseline scores of the students seen again later vs those never seen
  again, per entering cohort and overall (Welch difference, Cohen's d and Hedges' g with CIs).
- :func:`sensitivity_table` — each time's change from the reference estimated from all
  available respondents (different students), from the mixed model (all available data,
  missing at random) and from the completers only (the same students).
- :func:`response_rate_table` — response rates per cohort (or overall) and time from the
  enrolment counts, the change in response rate beside the change in the mean score.

Every table goes through :func:`empathy_metrics.suppression.suppress` like the rest of
:func:`~empathy_metrics.cohorts.trend`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._classical import one_sample_t
from ..effect_sizes import mean_ci
from ..errors import InputError
from ..suppression import suppress
from ._base import DIFFERENT_STUDENTS as DIFFERENT
from ._base import SAME_STUDENTS as SAME
from ._base import TrendInput, _compare_many, _paired_diff, _wide

_ALL = "all"

_ATTRITION_COLUMNS = [
    "scale", "cohort", "n_baseline", "n_seen_later", "n_not_seen", "share_not_seen",
    "mean_seen_later", "sd_seen_later", "mean_not_seen", "sd_not_seen", "diff", "diff_ci_low",
    "diff_ci_high", "diff_p", "d", "d_ci_low", "d_ci_high", "g", "g_ci_low", "g_ci_high",
    "design", "suppressed", "primary_suppressed"]


# ---------------------------------------------------------------------------- who left
def _first_rows(inp: TrendInput) -> pd.DataFrame:
    """One row per id and time (the first, as the paired analyses use)."""
    return inp.first_rows


def _isin(ids: pd.Series, values: set[Any]) -> pd.Series:
    """``ids.isin(values)``; pyarrow-backed strings are compared as Python objects (pandas'
    arrow ``isin`` builds a pyarrow scalar per value: 0.17 s instead of 0.03 s for 30,000 ids
    against 100,000 rows), with the same result."""
    if pd.api.types.is_string_dtype(ids.dtype) and ids.dtype != object:
        return ids.astype(object).isin(values)
    return ids.isin(values)


def _later_times(inp: TrendInput) -> list[Any]:
    """Shown times after the reference in the natural order."""
    ordered = sorted(inp.kept)
    if inp.reference not in ordered:
        return []
    return ordered[ordered.index(inp.reference) + 1:]


def _baseline_status(inp: TrendInput) -> pd.DataFrame:
    """Baseline rows (reference time) with ``_level`` (cohort or "all") and ``_seen_later``.

    Only cohorts (or, without a cohort column, the whole sample) with at least one
    respondent at a later shown time can lose anyone: a cohort not yet followed is left out.
    """
    rows = _first_rows(inp)
    later = rows[rows[inp.time].isin(_later_times(inp))]
    base = rows[rows[inp.time] == inp.reference].copy()
    base["_seen_later"] = _isin(base[inp.id], set(later[inp.id]))
    if inp.cohort is None:
        base["_level"] = _ALL
        return base if len(later) else base.iloc[:0]
    base = base[base[inp.cohort].notna()]
    followed = set(later[inp.cohort].dropna())
    base = base[base[inp.cohort].isin(followed)]
    base["_level"] = base[inp.cohort]
    return base


def _attrition_pattern(inp: TrendInput, base: pd.DataFrame) -> pd.DataFrame:
    """One suppression pattern over (level, status) cells for every scale (smallest n of any
    scale; margins: the level's baseline n and each status' overall total)."""
    seen = base["_seen_later"].to_numpy(dtype=bool)
    level_v = base["_level"].to_numpy()
    scored = np.column_stack([base[s].notna().to_numpy() for s in inp.scales])
    levels = pd.unique(base["_level"])
    n = [int(scored[(level_v == lev) & (seen if status else ~seen)].sum(axis=0).min())
         for lev in levels for status in (True, False)]
    cells = pd.DataFrame({"level": np.repeat(np.asarray(levels, dtype=object), 2),
                          "status": ["seen_later", "not_seen"] * len(levels),
                          "n": np.array(n, dtype=np.int64)})
    small = cells["n"].to_numpy(dtype=float) < inp.min_cell
    if inp.cohort is not None and inp.cohort in inp.cell_patterns:
        pat = inp.cell_patterns[inp.cohort]
        ref_cells = pat[(pat["time"] == inp.reference) & pat["suppressed"]]
        # a cohort whose reference cell is hidden stays hidden, with that cell's kind
        kind = dict(zip(ref_cells[inp.cohort], ref_cells["primary_suppressed"], strict=True))
        forced = cells["level"].isin(kind.keys()).to_numpy()
        small = np.where(forced, [bool(kind.get(v, False)) for v in cells["level"]], small)
        cells.loc[forced, "n"] = 0
    # status margins first: the greedy complement search then hides the same status of the
    # next smallest cohort (and that cohort's other group), not a chain through every cohort
    margins = [["status"], ["level"]] if inp.cohort is not None else [["level"]]
    out = suppress(cells, "n", inp.min_cell, margins=margins, keys=["level", "status"],
                   blank_count=False)
    out["primary_suppressed"] = small
    return out


def _attrition_row(scale: str, level: Any, kept: np.ndarray, lost: np.ndarray
                   ) -> dict[str, Any]:
    """One level's row from the baseline scores of those seen later (``kept``) and not
    (``lost``), without the comparison *not seen − seen later* (made for all rows at once
    by the caller)."""
    n = kept.size + lost.size
    row = {"scale": scale, "cohort": level, "n_baseline": int(n),
           "n_seen_later": int(kept.size), "n_not_seen": int(lost.size),
           "share_not_seen": lost.size / n if n else np.nan,
           "mean_seen_later": kept.mean() if kept.size else np.nan,
           "sd_seen_later": kept.std(ddof=1) if kept.size > 1 else np.nan,
           "mean_not_seen": lost.mean() if lost.size else np.nan,
           "sd_not_seen": lost.std(ddof=1) if lost.size > 1 else np.nan,
           "design": DIFFERENT}
    return row


def attrition_table(inp: TrendInput) -> pd.DataFrame:
    """Baseline scores of the students seen again later vs those never seen again.

    Per scale and entering cohort (and ``"all"`` cohorts together; without a cohort column
    only ``"all"``): n at the reference time, how many were seen at a later shown time and how
    many not, the mean and SD of each group's reference-time score, and the difference
    *not seen again − seen later* as Welch's mean difference (CI, p) with Cohen's d (pooled SD,
    noncentral-t CI) and Hedges' g (:func:`empathy_metrics.effect_sizes.cohens_d`; R
    ``t.test(lost, kept)``, ``effectsize::cohens_d``). A negative difference means the
    students who left scored lower at baseline: the later means of the respondents then
    overstate the empathy of the whole class, and a cross-sectional decline is understated.

    Needs repeated ids (else an empty table). Cohorts with nobody at a later shown time (not
    yet followed) are left out. A cohort whose reference cell is hidden, or whose two groups
    include one of fewer than ``min_cell`` (with complements over the cohort's baseline n and
    the overall totals), is shown as suppressed. This compares different students.
    """
    if not inp.longitudinal or inp.id is None or not inp.shown.get(inp.reference, False):
        return pd.DataFrame(columns=_ATTRITION_COLUMNS)
    base = _baseline_status(inp)
    if base.empty:
        return pd.DataFrame(columns=_ATTRITION_COLUMNS)
    pat = _attrition_pattern(inp, base)
    hidden = set(pat.loc[pat["suppressed"], "level"])
    small = set(pat.loc[pat["suppressed"] & pat["primary_suppressed"], "level"])
    levels = list(pd.unique(base["_level"]))
    if inp.cohort is not None:
        levels = sorted(levels, key=str) + [_ALL]
    rows = []
    pending: list[tuple[dict[str, Any], np.ndarray, np.ndarray]] = []
    level_v = base["_level"].to_numpy()
    seen_v = base["_seen_later"].to_numpy(dtype=bool)
    for scale in inp.scales:
        y = base[scale].to_numpy(dtype=float)
        has = ~np.isnan(y)
        for level in levels:
            if level in hidden:
                rows.append({"scale": scale, "cohort": level, "design": DIFFERENT,
                             "suppressed": True, "primary_suppressed": level in small})
                continue
            at = has if level == _ALL else has & (level_v == level)
            kept, lost = y[at & seen_v], y[at & ~seen_v]
            row = _attrition_row(scale, level, kept, lost)
            row.update(suppressed=False, primary_suppressed=False)
            rows.append(row)
            pending.append((row, lost, kept))
    for (row, _, _), cmp in zip(pending, _compare_many([(x, y) for _, x, y in pending]),
                                strict=True):
        row.update(cmp)
    out = pd.DataFrame(rows).reindex(columns=_ATTRITION_COLUMNS)
    for col in ("n_baseline", "n_seen_later", "n_not_seen"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


# ---------------------------------------------------------------------------- sensitivity
def completers(inp: TrendInput) -> set[Any]:
    """Ids seen at every shown time their entering cohort has reached (every shown time when
    there is no cohort column); a time is reached when any member of the cohort answered."""
    rows = _first_rows(inp)
    rows = rows[rows[inp.time].isin(inp.kept)]
    seen = rows.groupby([inp.id, inp.time]).size().unstack(fill_value=0) > 0  # ids x times
    if inp.cohort is None:
        need = seen.reindex(columns=inp.kept, fill_value=False)
        return set(seen.index[need.all(axis=1).to_numpy()])
    cohort_of = rows.groupby(inp.id)[inp.cohort].first().reindex(seen.index)
    reached = rows.groupby([inp.cohort, inp.time]).size().unstack(fill_value=0) > 0
    reached = reached.reindex(columns=seen.columns, fill_value=False)
    need = reached.reindex(cohort_of.to_numpy()).fillna(False).to_numpy(dtype=bool)
    ok = cohort_of.notna().to_numpy() & ~(need & ~seen.to_numpy(dtype=bool)).any(axis=1)
    return set(seen.index[ok])


def _paired_change(diff: np.ndarray) -> dict[str, Any]:
    """Mean paired change with its t CI and p (R ``t.test(paired = TRUE)``)."""
    out: dict[str, Any] = {"n": int(diff.size)}
    if diff.size >= 2:
        lo, hi = mean_ci(diff)
        sd = diff.std(ddof=1)
        p = float(one_sample_t(diff, 0.0).pvalue) if sd > 0 else np.nan
        out.update(diff=float(diff.mean()), ci_low=lo, ci_high=hi, p=p)
    return out


def sensitivity_table(inp: TrendInput, by_time: pd.DataFrame,
                      mixed_model: Mapping[str, dict[str, Any] | None]) -> pd.DataFrame:
    """Each shown time's change from the reference, estimated three ways, side by side.

    Rows per scale, time and ``estimate``:

    - ``"all available"`` — the Welch difference of the respondents at each time (the
      ``by_time`` change; different students);
    - ``"mixed model"`` — the ``time[t]`` effect of the mixed model (all available data of the
      same students; unbiased if dropout depends only on the observed scores, MAR);
    - ``"completers only"`` — the mean paired change of the students seen at every time their
      cohort has reached (:func:`completers`; same students; R ``t.test(paired = TRUE)``).

    ``gap`` is the completers-only change minus the all-available change: far from zero, the
    students who stayed changed differently from what the respondents' means suggest. The
    completers-only row is hidden when fewer than ``min_cell`` completers, or 1..min_cell−1
    non-completers, answered at that time (their count would follow from the time's n).
    """
    cols = ["scale", "time", "estimate", "n", "diff", "ci_low", "ci_high", "p", "gap", "design",
            "suppressed", "primary_suppressed"]
    if not inp.longitudinal or not inp.shown.get(inp.reference, False):
        return pd.DataFrame(columns=cols)
    first = _first_rows(inp)
    completer = _isin(first[inp.id], completers(inp)).to_numpy(dtype=bool)
    ids, tv = first[inp.id].to_numpy(), first[inp.time].to_numpy()
    bt_cols = {c: by_time[c].tolist() for c in ("n", "diff_vs_ref", "diff_ci_low",
                                                 "diff_ci_high", "diff_p")}
    bt_at = {key: i for i, key in enumerate(zip(by_time["scale"].tolist(),
                                                by_time["time"].tolist(), strict=True))}
    rows = []
    for scale in inp.scales:
        mm = (mixed_model.get(scale) or {}).get("terms", {})
        y = first[scale].to_numpy(dtype=float)
        comp = ~np.isnan(y) & completer
        wide = _wide(ids[comp], tv[comp], y[comp])
        for t in sorted(inp.kept):
            if t == inp.reference:
                continue
            r = {c: v[bt_at[(scale, t)]] for c, v in bt_cols.items()}
            rows.append({"scale": scale, "time": t, "estimate": "all available", "n": r["n"],
                         "diff": r["diff_vs_ref"], "ci_low": r["diff_ci_low"],
                         "ci_high": r["diff_ci_high"], "p": r["diff_p"], "design": DIFFERENT,
                         "suppressed": False, "primary_suppressed": False})
            term = mm.get(f"time[{t}]")
            if term and term.get("estimate") is not None:
                rows.append({"scale": scale, "time": t, "estimate": "mixed model",
                             "n": None, "diff": term["estimate"], "ci_low": term["ci"][0],
                             "ci_high": term["ci"][1], "p": term.get("p"), "design": SAME,
                             "suppressed": False, "primary_suppressed": False})
            non = int(inp.values[scale][t].size) - int((tv[comp] == t).sum())
            rows.append(_completer_row(inp, scale, t, wide, non, r))
    out = pd.DataFrame(rows).reindex(columns=cols)
    out["n"] = pd.Series([None if pd.isna(v) else int(v) for v in out["n"]], dtype=object,
                         index=out.index)
    return out


def _completer_row(inp: TrendInput, scale: str, t: Any, wide: dict[Any, np.ndarray], non: int,
                   r: Mapping[str, Any]) -> dict[str, Any]:
    """The completers-only row of one time (``non``: non-completers answering at ``t``;
    ``wide``: the completers' scores by time, :func:`._base._wide`)."""
    c = _paired_change(_paired_diff(wide, inp.reference, t))
    row = {"scale": scale, "time": t, "estimate": "completers only", "design": SAME}
    if c["n"] < inp.min_cell or 0 < non < inp.min_cell or "diff" not in c:
        # too few completers, or too few others to keep the completers' count from the n
        return {**row, "n": None, "suppressed": True, "primary_suppressed": True}
    gap = c["diff"] - r["diff_vs_ref"] if pd.notna(r["diff_vs_ref"]) else np.nan
    return {**row, "n": c["n"], "diff": c["diff"], "ci_low": c["ci_low"],
            "ci_high": c["ci_high"], "p": c["p"], "gap": gap, "suppressed": False,
            "primary_suppressed": False}


# ---------------------------------------------------------------------------- response rates
def check_enrolled(enrolled: pd.DataFrame, *, time: str, cohort: str | None,
                   source: str = "enrolled", line_numbers: bool = False) -> pd.DataFrame:
    """Validate enrolment counts: columns ``cohort`` (when the data have cohorts), ``year`` (or
    the time column's name) and ``enrolled`` (a positive whole number, one row per cell).

    Returns a frame with columns ``cohort`` (or none), ``time`` and ``enrolled``. Errors name
    ``source``, the row (the frame's index, which the CLI sets to the file's line numbers) and
    the column (with ``line_numbers`` the index holds the file's line numbers, as the CLI
    sets it; otherwise the message gives the index label).
    """
    def where(idx: Any) -> dict[str, Any]:
        return {"file": source, "row": int(idx)} if line_numbers else {"file": f"{source} "
                                                                         f"(index {idx})"}

    if not isinstance(enrolled, pd.DataFrame):
        raise InputError("enrolled must be a pandas DataFrame (columns cohort, year, enrolled)")
    cols = {str(c).strip().lower(): c for c in enrolled.columns}
    tcol = cols.get("year", cols.get(str(time).lower()))
    need = ["enrolled"] + (["cohort"] if cohort is not None else [])
    missing = [c for c in need if c not in cols] + ([] if tcol is not None else ["year"])
    if missing:
        hint = "columns must be cohort, year, enrolled"
        if "cohort" in missing:
            hint += (f"; the analysis is by cohort ('{cohort}'): give one row per cohort "
                     "and year, or leave the cohort out for response rates per year only")
        raise InputError(f"enrolment counts lack the column(s) {', '.join(missing)}",
                         file=source, hint=hint)
    out = pd.DataFrame({"time": enrolled[tcol]}, index=enrolled.index)
    if cohort is not None:
        out.insert(0, "cohort", enrolled[cols["cohort"]])
    values = pd.to_numeric(enrolled[cols["enrolled"]], errors="coerce")
    for idx, raw, v in zip(enrolled.index, enrolled[cols["enrolled"]], values, strict=True):
        if not (np.isfinite(v) and v > 0 and float(v).is_integer()):
            raise InputError(f"enrolled must be a positive whole number, got {raw!r}",
                             **where(idx), column=str(cols["enrolled"]),
                             hint="give the number of students enrolled in that year")
    out["enrolled"] = values.astype(int)
    out["source_row"] = [int(i) for i in out.index] if line_numbers else None
    keys = ["cohort", "time"] if cohort is not None else ["time"]
    dup = out.duplicated(keys)
    if dup.any():
        idx = out.index[dup][0]
        raise InputError(f"enrolment for {', '.join(str(out.loc[idx, k]) for k in keys)} is "
                         "given twice", **where(idx), hint="give one row per cohort and year")
    return out


def _match(values: pd.Series, wanted: list[Any]) -> pd.Series:
    """Map the values of an enrolment column onto the data's values by their text."""
    by_text = {str(w): w for w in wanted}
    return values.map(lambda v: by_text.get(str(v).strip(), by_text.get(_int_text(v))))


def _int_text(v: Any) -> str | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return str(int(f)) if f.is_integer() else None


def response_rate_table(inp: TrendInput, enrolled: pd.DataFrame, cohort_cells: pd.DataFrame,
                        by_time: pd.DataFrame, source: str = "enrolled") -> pd.DataFrame:
    """Response rate per cohort (or overall) and time, beside the change in the mean score.

    ``response_rate = n / enrolled`` with n the respondents with a score on the scale (the
    cohort-trajectory cell, or the time's n without cohorts); ``rate_change`` and
    ``mean_change`` are the differences from the same cohort's reference-time cell (a fall in
    the rate beside a fall in the mean warns that the mean may move because of who answers).
    The mean change compares the respondents of each time (different students). Hidden cells
    show the enrolment only. Raises :class:`~empathy_metrics.errors.InputError` when a cell has
    more respondents than enrolled students.
    """
    by_cohort = inp.cohort is not None and "cohort" in enrolled.columns
    if by_cohort:
        cells = cohort_cells.rename(columns={inp.cohort: "cohort"})
        levels = list(pd.unique(cells["cohort"]))
        enrolled = enrolled.assign(cohort=_match(enrolled["cohort"], levels))
    else:
        cells = by_time.assign(cohort=_ALL)
        enrolled = enrolled.assign(cohort=_ALL)
    enrolled = enrolled.assign(time=_match(enrolled["time"], inp.times))
    enrolled = enrolled[enrolled["time"].notna() & enrolled["cohort"].notna()]
    rows = []
    for scale in inp.scales:
        sc = cells[cells["scale"] == scale]
        merged = sc.merge(enrolled, on=["cohort", "time"], how="inner")
        for r in merged.itertuples(index=False):
            _check_not_above(r, source)
        merged = merged.assign(response_rate=[
            None if r.n is None or r.n != r.n else r.n / r.enrolled
            for r in merged.itertuples(index=False)])
        rows.append(_changes_from_reference(merged, inp.reference, scale))
    cols = ["scale", "cohort", "time", "enrolled", "n", "response_rate", "rate_change",
            "mean", "mean_change", "design", "suppressed", "primary_suppressed"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.concat(rows, ignore_index=True).reindex(columns=cols)


def _check_not_above(r: Any, source: str) -> None:
    if r.n is not None and r.n == r.n and r.n > r.enrolled:
        row = None if r.source_row is None or r.source_row != r.source_row else int(r.source_row)
        raise InputError(f"cohort {r.cohort}, year {r.time}: {int(r.n)} respondents but only "
                         f"{int(r.enrolled)} enrolled", file=source, row=row, column="enrolled",
                         hint="check the enrolment counts (or the cohort/year columns)")


def _changes_from_reference(merged: pd.DataFrame, reference: Any, scale: str) -> pd.DataFrame:
    out = []
    for _, g in merged.groupby("cohort", sort=True):
        g = g.sort_values("time")
        ref = g[g["time"] == reference]
        r0 = ref.iloc[0] if len(ref) else None
        for _, r in g.iterrows():
            row = {"scale": scale, "cohort": r["cohort"], "time": r["time"],
                   "enrolled": int(r["enrolled"]), "n": r["n"],
                   "response_rate": r["response_rate"], "mean": r["mean"],
                   "design": DIFFERENT, "suppressed": bool(r["suppressed"]),
                   "primary_suppressed": bool(r["suppressed"])
                   and bool(r.get("primary_suppressed", True))}
            if r0 is not None and not r0["suppressed"] and not r["suppressed"]:
                row["rate_change"] = r["response_rate"] - r0["response_rate"]
                row["mean_change"] = r["mean"] - r0["mean"]
            out.append(row)
    return pd.DataFrame(out)
