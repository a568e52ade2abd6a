"""Shared pieces of the cohort analyses: input preparation, one suppression pattern per table,
descriptives and two-sample comparisons.

Every analysis module of :mod:`empathy_metrics.cohorts` receives a :class:`TrendInput` (the
validated data with its times, reference and suppression patterns, built once by
:func:`prepare_trend_input`) so that all tables of one :func:`~empathy_metrics.cohorts.trend`
call hide the same cells.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .._classical import line_fit
from .._distributions import t_ppf
from ..effect_sizes import cohens_d, mean_ci, welch_differences
from ..errors import DataError, DegenerateDataWarning, InputError
from ..instruments import Instrument
from ..suppression import membership_matrix, suppress_counts, suppression_kind

#: Two-sided 95 % critical value of the reliable change index.
RCI_CRITICAL = 1.959963984540054

#: The ``design`` of a comparison: the same students followed over time (within-person) ...
SAME_STUDENTS = "same students"
#: ... or different students (cross-sectional: the respondents of each time, cohort or group).
DIFFERENT_STUDENTS = "different students"


def _prepare(data: pd.DataFrame, inst: Instrument, scales: list[str]
             ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Scale scores and keyed items (``None`` without item columns).

    With the item columns present every scale is scored from them: a data column named like a
    scale (survey exports often carry a computed ``total``) is ignored with a
    :class:`~empathy_metrics.errors.ScaleColumnWarning` naming it, never used in place of the
    scoring. Without item columns the scale columns are taken as given (scored data).
    """
    from ..errors import ScaleColumnWarning
    from ..scoring import keyed_items, score

    # Keying and scoring see the reader's index, so an error names the file row.
    have_items = all(c in data.columns for c in inst.item_ids)
    keyed = keyed_items(data, inst).reset_index(drop=True) if have_items else None
    frame = data.reset_index(drop=True)
    if have_items:
        clash = [s for s in scales if s in frame.columns]
        if clash:
            warnings.warn(
                f"the data column(s) {', '.join(map(repr, clash))} are named like scales of "
                f"{inst.id} and are ignored: the scale scores are computed from the items "
                "(rename or drop those columns to silence this warning)",
                ScaleColumnWarning, stacklevel=4)
        scored = score(data, inst).scores
        frame = frame.copy()
        for s in scales:
            frame[s] = scored[s].to_numpy()
        return frame, keyed
    missing = [s for s in scales if s not in frame.columns]
    if missing:
        raise InputError(
            f"the data hold neither the scale columns ({', '.join(missing)}) nor the "
            f"items of {inst.id}", hint="pass scored data or raw responses")
    return frame, keyed


def _describe(values: np.ndarray) -> dict[str, float]:
    """n, mean, SD, SE, t-based 95 % CI of the mean, quartiles, IQR and Tukey whiskers."""
    n = values.size
    out = {"n": n}
    if n == 0:
        return out
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    iqr = q3 - q1
    inside = values[(values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)]
    lo, hi = mean_ci(values)
    sd = values.std(ddof=1) if n > 1 else np.nan
    out.update(mean=values.mean(), sd=sd, se=sd / np.sqrt(n), ci_low=lo, ci_high=hi,
               median=med, q1=q1, q3=q3, iqr=iqr, whisker_low=inside.min(),
               whisker_high=inside.max())
    return out


def _mean_cis(mean: np.ndarray, sd: np.ndarray, n: np.ndarray, level: float = 0.95
              ) -> tuple[np.ndarray, np.ndarray]:
    """t-based CIs of many means from their summaries, elementwise as
    :func:`~empathy_metrics.effect_sizes.mean_ci` (``x̄ ± t_{(1+level)/2, n−1}·s/√n``, R
    ``t.test(x)$conf.int``) with one quantile call; NaN where ``n < 2``."""
    n = np.asarray(n)
    ok = n >= 2
    lo, hi = np.full(n.shape, np.nan), np.full(n.shape, np.nan)
    if ok.any():
        se = sd[ok] / np.sqrt(n[ok])
        q = t_ppf(0.5 + level / 2, n[ok] - 1)
        lo[ok], hi[ok] = mean[ok] - q * se, mean[ok] + q * se
    return lo, hi


def _compare(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Welch difference and d/g of ``x − y``."""
    return _compare_many([(x, y)])[0]


def _compare_many(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[dict[str, float]]:
    """:func:`_compare` of every pair ``(x, y)``: Welch difference and d/g of ``x − y``.

    The Welch differences come from :func:`~empathy_metrics.effect_sizes.welch_differences`
    (quantiles and p of all pairs in one call each); Cohen's d and
    Hedges' g of all pairs with some spread come from one vectorised
    :func:`~empathy_metrics.effect_sizes.cohens_d` call, whose noncentral-t CIs are solved
    elementwise (each element takes the steps it would take alone: the same numbers as one
    call per pair, in one pass of array operations instead of one per pair). Pairs with
    fewer than 2 values on a side give ``{}``; without spread on both sides, no d/g.
    """
    out: list[dict[str, float]] = []
    es_at: list[int] = []
    es_args: list[tuple[float, ...]] = []
    for (x, y), w in zip(pairs, welch_differences(pairs), strict=True):
        if x.size < 2 or y.size < 2:
            out.append({})
            continue
        out.append({"diff": w.estimate, "diff_ci_low": w.ci[0], "diff_ci_high": w.ci[1],
                    "diff_p": w.p})
        sx, sy = x.std(ddof=1), y.std(ddof=1)
        if sx == 0 and sy == 0:
            continue
        es_at.append(len(out) - 1)
        es_args.append((x.mean(), sx, x.size, y.mean(), sy, y.size))
    if es_at:
        es = cohens_d(*(np.array(col, dtype=float) for col in zip(*es_args, strict=True)))
        for j, i in enumerate(es_at):
            out[i].update(d=float(es.d[j]), d_ci_low=float(es.d_ci[0][j]),
                          d_ci_high=float(es.d_ci[1][j]), g=float(es.g[j]),
                          g_ci_low=float(es.g_ci[0][j]), g_ci_high=float(es.g_ci[1][j]))
    return out


def _numeric_time(times: list[Any]) -> tuple[dict[Any, float], str]:
    try:
        return {t: float(t) for t in times}, "time values"
    except (TypeError, ValueError):
        return {t: float(i + 1) for i, t in enumerate(times)}, "time order 1..k"


def _ols_slope(y: np.ndarray, x: np.ndarray) -> dict[str, Any] | None:
    if np.unique(x).size < 2 or y.size < 3:
        return None
    res = line_fit(x, y)
    df = y.size - 2
    q = t_ppf(0.975, df)
    return {"estimate": float(res.slope), "se": float(res.stderr),
            "ci": [float(res.slope - q * res.stderr), float(res.slope + q * res.stderr)],
            "p": float(res.pvalue), "method": "OLS of score on time"}


def _pattern(counts: pd.DataFrame, keys: list[str], margins: list[list[str]], min_cell: int,
             force_hidden: np.ndarray | None = None,
             extra: list[str] | None = None) -> pd.DataFrame:
    """One suppression pattern (``keys``, ``suppressed``, ``primary_suppressed``) for a table.

    ``counts`` holds the ``keys``, ``n`` (for several scales: the smallest n of any scale in
    the cell) and any ``extra`` columns the ``margins`` name. Cells in ``force_hidden`` (e.g.
    the cells of a hidden time) are treated as primarily suppressed when choosing the
    complements.
    """
    t = counts[keys + list(extra or []) + ["n"]].reset_index(drop=True)
    n = t["n"].to_numpy(dtype=float)
    primary = n < min_cell
    n = np.where(np.isnan(n), 0.0, n)
    if force_hidden is not None:
        n = np.where(np.asarray(force_hidden, dtype=bool), 0.0, n)
    hide, _ = suppress_counts(n, min_cell, membership_matrix(t, margins))
    out = t[keys].copy()
    out["suppressed"] = hide
    out["primary_suppressed"] = primary
    return out


def _apply_pattern(table: pd.DataFrame, pattern: pd.DataFrame, keys: list[str],
                   count_col: str = "n") -> pd.DataFrame:
    """Blank every non-key column (and the count) of the cells ``pattern`` hides."""
    out = table.drop(columns=[c for c in ("suppressed", "primary_suppressed") if c in table])
    out = out.reset_index(drop=True)
    # each row's cell looked up in the pattern (one row per cell; a cell it lacks is hidden
    # as small): a left merge on the keys, as a dict
    flags = dict(zip(zip(*(pattern[k].tolist() for k in keys), strict=True),
                     zip(pattern["suppressed"].tolist(), pattern["primary_suppressed"].tolist(),
                         strict=True), strict=True))
    found = [flags.get(key, (True, True))
             for key in zip(*(out[k].tolist() for k in keys), strict=True)]
    hide = np.array([bool(h) for h, _ in found], dtype=bool)
    out["suppressed"] = hide
    out["primary_suppressed"] = np.array([bool(p) for _, p in found], dtype=bool)
    fixed = set(keys) | {"scale", "suppressed", "primary_suppressed"}
    any_hidden = bool(hide.any())
    for col in out.columns:
        if col in fixed:
            continue
        if out[col].dtype.kind in "iub" or col == count_col:
            out[col] = out[col].astype(object)
        if any_hidden:
            out.loc[hide, col] = None if out[col].dtype == object else np.nan
    return out


def _match_reference(reference: Any, times: list[Any], time: str) -> Any:
    if reference is None:
        return times[0]
    match = [t for t in times if str(t) == str(reference)]
    if not match:
        raise InputError(f"reference time {reference!r} is not a value of '{time}'",
                         hint=f"values are {', '.join(map(str, times))}")
    return match[0]


def _check_min_cell(min_cell: Any) -> int:
    if int(min_cell) < 1:
        raise InputError(f"min_cell must be a positive integer, got {min_cell}")
    return int(min_cell)


@dataclass
class TrendInput:
    """The validated data of one :func:`~empathy_metrics.cohorts.trend` call.

    ``frame`` holds the rows with a time (scale scores, time, id, cohort, group columns),
    ``keyed`` the keyed items of the same rows (``None`` without item columns). ``times``
    starts with the ``reference``; ``shown`` maps each time to whether it is shown (the one
    time-suppression pattern ``pat_time``), ``kept`` lists the shown times. ``cell_patterns``
    holds the cohort × time and group × time patterns. ``notes`` collects the plain-words
    notes of every analysis, in order.
    """

    inst: Instrument
    frame: pd.DataFrame
    keyed: pd.DataFrame | None
    time: str
    id: str | None
    cohort: str | None
    group: str | None
    scales: list[str]
    times: list[Any]
    reference: Any
    min_cell: int
    longitudinal: bool
    tnum: dict[Any, float]
    tnum_note: str
    pat_time: pd.DataFrame
    shown: dict[Any, bool]
    kept: list[Any]
    cell_patterns: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)

    def rows(self, scale: str) -> pd.DataFrame:
        """Rows with a score on ``scale`` (all times)."""
        return self.frame[self.frame[scale].notna()]

    def shown_rows(self, scale: str) -> pd.DataFrame:
        """Rows with a score on ``scale`` at a shown time: all that any test or model sees."""
        sub = self.rows(scale)
        return sub[sub[self.time].isin(self.kept)]

    @cached_property
    def small_time(self) -> dict[Any, bool]:
        """Time -> whether it has fewer than ``min_cell`` respondents (primary suppression).

        A hidden time that is not small was hidden as a complement; tables derived from the
        times (distribution, norms, mixed-model terms) take the kind of their hidden rows
        from here.
        """
        return dict(zip(self.pat_time["time"],
                        self.pat_time["primary_suppressed"].to_numpy(dtype=bool), strict=True))

    @cached_property
    def time_kind(self) -> dict[Any, Any]:
        """Time -> ``False`` (shown), ``"small"`` or ``"complementary"`` (why it is hidden)."""
        kinds = suppression_kind([not self.shown[t] for t in self.times],
                                 [self.small_time[t] for t in self.times])
        return dict(zip(self.times, kinds, strict=True))

    @cached_property
    def first_rows(self) -> pd.DataFrame:
        """One row per id and time (the first), as the paired analyses use (needs ``id``)."""
        return self.frame[~self.frame.duplicated([self.id, self.time])]

    @cached_property
    def values(self) -> dict[str, dict[Any, np.ndarray]]:
        """Scale -> time -> the scores (available cases), in row order."""
        tv = self.time_values
        at = {t: tv == t for t in self.times}
        return {scale: {t: y[at[t] & ~np.isnan(y)] for t in self.times}
                for scale, y in self.score_arrays.items()}

    @cached_property
    def time_values(self) -> np.ndarray:
        """The time of every row of ``frame``."""
        return self.frame[self.time].to_numpy()

    @cached_property
    def score_arrays(self) -> dict[str, np.ndarray]:
        """Scale -> the scores of every row of ``frame`` (NaN where missing)."""
        return {s: self.frame[s].to_numpy(dtype=float) for s in self.scales}

    @cached_property
    def kept_rows(self) -> np.ndarray:
        """Whether each row of ``frame`` is at a shown time."""
        return self.frame[self.time].isin(self.kept).to_numpy()

    def shown_positions(self, scale: str) -> np.ndarray:
        """Positions in ``frame`` of :meth:`shown_rows` (scored rows at a shown time)."""
        return np.flatnonzero(self.kept_rows & ~np.isnan(self.score_arrays[scale]))

    def keyed_items(self, scale: str, positions: np.ndarray) -> np.ndarray:
        """The keyed items of ``scale`` at the ``positions`` of ``frame`` (needs ``keyed``),
        as ``keyed.loc[frame.index[positions], items].to_numpy()``."""
        cols = self.keyed.columns.get_indexer(self.inst.scales[scale])
        return self._keyed_array[positions][:, cols]

    @cached_property
    def _keyed_array(self) -> np.ndarray:
        return self.keyed.to_numpy(dtype=float)


def _wide(ids: np.ndarray, tv: np.ndarray, y: np.ndarray) -> dict[Any, np.ndarray]:
    """Time -> the score of every id (ids in sorted order, NaN where an id has none then).

    ``pivot_table(index=id, columns=time, values=y, aggfunc="first")`` on arrays: the rows
    given (scored ones), the first row of an id × time winning, rows with a missing id left
    out; a time is a key only when some row has it. Ids are ordered by ``pd.factorize(...,
    sort=True)`` as the pivot's index is, so the paired differences come in the same order.
    """
    icode, uniq = pd.factorize(ids, sort=True)
    has = icode >= 0
    icode, tv, y = icode[has], tv[has], y[has]
    tcode, times = pd.factorize(tv)
    key = icode.astype(np.int64) * max(len(times), 1) + tcode
    _, first = np.unique(key, return_index=True)
    table = np.full((len(uniq), len(times)), np.nan)
    table[icode[first], tcode[first]] = y[first]
    return {t: table[:, j] for j, t in enumerate(times)}


def _paired_diff(wide: dict[Any, np.ndarray], a: Any, b: Any) -> np.ndarray:
    """``b − a`` of the ids scored at both times (``wide[[a, b]].dropna()``), by id."""
    if a not in wide or b not in wide:
        return np.empty(0)
    both = ~np.isnan(wide[a]) & ~np.isnan(wide[b])
    return wide[b][both] - wide[a][both]


def _validate_columns(data: pd.DataFrame, inst: Instrument, roles: dict[str, str | None],
                      scales: Sequence[str] | None) -> list[str]:
    for role, col in roles.items():
        if col is not None and col not in data.columns:
            raise InputError(f"{role} column '{col}' not found", column=col,
                             hint=f"columns are {', '.join(map(str, data.columns[:12]))}")
    all_scales = list(inst.scales)
    scales = list(scales) if scales is not None else all_scales
    unknown = [s for s in scales if s not in all_scales]
    if unknown:
        raise InputError(f"unknown scale(s) {', '.join(unknown)} for {inst.id}",
                         hint=f"scales are {', '.join(all_scales)}")
    return scales


def _longitudinal_notes(frame: pd.DataFrame, id: str | None, time: str,  # noqa: A002
                        notes: list[str]) -> bool:
    """Whether ids repeat (longitudinal data); warns about duplicate id × time rows."""
    longitudinal = id is not None and frame[id].duplicated().any()
    if id is not None and not longitudinal:
        notes.append("ids do not repeat: longitudinal analyses skipped")
    if longitudinal:
        dup = frame[[id, time]].dropna().duplicated()
        if dup.any():
            warnings.warn(f"{int(dup.sum())} row(s) repeat an '{id}' already seen at the same "
                          f"'{time}'; paired change and reliable change use the first row of "
                          "each (check the export for duplicates)", DegenerateDataWarning,
                          stacklevel=4)
            notes.append(f"{int(dup.sum())} duplicate id × time row(s): paired analyses use "
                         "the first")
    return bool(longitudinal)


def _cell_patterns(frame: pd.DataFrame, nonmissing: pd.DataFrame, tv: np.ndarray,
                   cols: Sequence[str | None], kept: list[Any], min_cell: int
                   ) -> dict[str, pd.DataFrame]:
    """Level × time suppression patterns, protected against the totals that are published.

    Published are the n of every shown time (the scores table) and, as the number of rows
    read is published too, the n of the hidden times taken together: the margins are one
    per shown time and one for all hidden times. A level's total over all times (a cohort's
    or a group's respondents in every year together) is published nowhere, so it is no
    margin: in a cohort-sequential design, where a cohort may be seen in one year only, a
    small cell then needs one complement in its year instead of a cascade through every
    cohort. Cells of hidden times are hidden with their time. The cells are those of
    ``groupby([col, time], sort=True)`` (sorted factor codes of both, as groupby sorts), their
    n the smallest count of any scale's scores (one ``bincount`` per scale).
    """
    cell_patterns: dict[str, pd.DataFrame] = {}
    scored = nonmissing.to_numpy(dtype=bool)
    for col in cols:
        if col is None or col in cell_patterns:
            continue
        # the level x time cells in sorted order (sorted factor codes, as groupby sorts),
        # their n the smallest count of any scale's scores (one bincount per scale)
        level, _ = pd.factorize(frame[col], sort=True)
        when, when_u = pd.factorize(tv, sort=True)
        ok = level >= 0
        if not ok.any():
            continue
        keys, first, g = np.unique(level[ok].astype(np.int64) * len(when_u) + when[ok],
                                   return_index=True, return_inverse=True)
        n = np.min([np.bincount(g[scored[ok, j]], minlength=keys.size)
                    for j in range(scored.shape[1])], axis=0)
        at = np.flatnonzero(ok)[first]
        cells = pd.DataFrame({col: frame[col].iloc[at].reset_index(drop=True),
                              "time": tv[at], "n": n})
        shown = cells["time"].isin(kept).to_numpy()
        # the published total each cell belongs to: its time's, or all hidden times'
        cells["_total"] = np.where(shown, pd.factorize(cells["time"])[0], -1)
        pattern = _pattern(cells, [col, "time"], [["_total"]], min_cell,
                           force_hidden=~shown, extra=["_total"])
        cell_patterns[col] = pattern
    return cell_patterns


def prepare_trend_input(data: pd.DataFrame, inst: Instrument, *, time: str,
                        id: str | None, cohort: str | None,  # noqa: A002
                        group: str | None, reference: Any, min_cell: Any,
                        scales: Sequence[str] | None) -> TrendInput:
    """Validate, score if needed, order the times and compute the shared suppression patterns.

    One pattern per table is computed from the smallest count of any scale in each cell and
    applied to every scale alike, so that no hidden cell of one scale can be recovered from the
    shown cells of another.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame")
    min_cell = _check_min_cell(min_cell)
    scales = _validate_columns(data, inst, {"time": time, "id": id, "cohort": cohort,
                                            "group": group}, scales)
    frame, keyed = _prepare(data, inst, scales)
    # the reader's attrs (source, encoding, exclusions) are not needed past scoring, and
    # pandas deep-copies them into every frame derived from these ones
    frame.attrs = {}
    if keyed is not None:
        keyed.attrs = {}
    frame = frame[frame[time].notna()]
    if keyed is not None:
        keyed = keyed.loc[frame.index]
    times = sorted(pd.unique(frame[time]).tolist())
    if len(times) < 2:
        raise DataError(f"need at least two distinct values of '{time}', found {len(times)}")
    reference = _match_reference(reference, times, time)
    times = [reference] + [t for t in times if t != reference]
    notes: list[str] = []
    longitudinal = _longitudinal_notes(frame, id, time, notes)
    tnum, tnum_note = _numeric_time(sorted(times))  # natural order, not reference-first
    tv = frame[time].to_numpy()
    nonmissing = frame[scales].notna()
    counts_t = pd.DataFrame({"time": times, "n": [int(nonmissing[tv == t].sum().min())
                                                  for t in times]})
    pat_time = _pattern(counts_t, ["time"], [[]], min_cell)
    shown = dict(zip(pat_time["time"], ~pat_time["suppressed"].to_numpy(dtype=bool),
                     strict=True))
    kept = [t for t in times if shown[t]]
    cell_patterns = _cell_patterns(frame, nonmissing, tv, (cohort, group), kept, min_cell)
    return TrendInput(inst=inst, frame=frame, keyed=keyed, time=time, id=id, cohort=cohort,
                      group=group, scales=scales, times=times, reference=reference,
                      min_cell=min_cell, longitudinal=longitudinal, tnum=tnum,
                      tnum_note=tnum_note, pat_time=pat_time, shown=shown, kept=kept,
                      cell_patterns=cell_patterns, notes=notes)
