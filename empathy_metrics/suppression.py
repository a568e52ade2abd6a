"""Small-cell suppression for tables of group statistics.

A cell (e.g. training year x entering cohort x gender) describing fewer respondents than a
threshold is *primarily* suppressed: its count and statistics are blanked and it is flagged.
Hiding the small cell is not enough when a total is shown beside it, because the hidden value
could be recovered by subtracting the shown cells from the total. :func:`suppress` therefore
also applies *complementary (secondary) suppression*: in every margin (a set of cells whose total
is, or may be, published) holding exactly one suppressed cell, the next-smallest cell is
suppressed as well; then any suppressed cell still determined by the system of margin equations
(checked exactly by linear algebra) gets a further complement, until no suppressed cell can be
recovered from the shown cells and the margin totals.

Reference: NCES (2010). *Statistical Methods for Protecting Personally Identifiable Information
in Aggregate Reporting* (SLDS Technical Brief 3, NCES 2011-603): minimum cell size (10 being the
most common choice) together with complementary suppression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["suppress", "recoverable_cells", "suppressed_label", "suppression_kind", "with_kinds",
           "protected_whiskers", "fold_small_groups", "DEFAULT_MIN_CELL", "SMALL",
           "COMPLEMENTARY", "FOLDED_LABEL"]

#: Default minimum number of respondents for a cell to be shown.
DEFAULT_MIN_CELL = 10


def suppressed_label(min_cell: int = DEFAULT_MIN_CELL, kind: str | bool = "small") -> str:
    """Text shown in place of a suppressed value, saying why.

    ``kind`` ``"small"`` (or ``True``): "suppressed: fewer than 10 respondents";
    ``"complementary"``: "hidden so that a small group cannot be worked out" (a cell that
    may be large, hidden only to protect a small one).
    """
    if kind == COMPLEMENTARY:
        return "hidden so that a small group cannot be worked out"
    return f"suppressed: fewer than {int(min_cell)} respondents"


def short_label(min_cell: int = DEFAULT_MIN_CELL, kind: str | bool = "small") -> str:
    """The label of a suppressed mark in a figure: "n < 10" or "hidden (complement)"."""
    return "hidden (complement)" if kind == COMPLEMENTARY else f"n < {int(min_cell)}"


@dataclass(frozen=True)
class _Margins:
    """Membership matrix: ``matrix[m, i]`` is 1 when cell ``i`` belongs to margin ``m``."""

    matrix: np.ndarray


def _margin_matrix(table: pd.DataFrame, margins: Sequence[Sequence[str]]) -> _Margins:
    rows = []
    n = len(table)
    for spec in margins:
        spec = list(spec)
        if not spec:  # grand total over every cell
            rows.append(np.ones(n))
            continue
        keys = table[spec].astype(str).agg("\x1f".join, axis=1).to_numpy()
        for key in pd.unique(keys):
            rows.append((keys == key).astype(float))
    matrix = np.vstack(rows) if rows else np.zeros((0, n))
    return _Margins(matrix)


def recoverable_cells(
    suppressed: np.ndarray | Sequence[bool], membership: np.ndarray
) -> np.ndarray:
    """Which suppressed cells are determined by the shown cells and the margin totals.

    Each margin ``m`` gives the equation ``sum_{i in m, i suppressed} x_i = total_m - shown``.
    A suppressed cell ``i`` is recoverable exactly when the unit vector ``e_i`` lies in the row
    space of the membership matrix restricted to the suppressed cells, i.e. when appending
    ``e_i`` does not raise its rank.

    Parameters
    ----------
    suppressed
        Boolean flag per cell.
    membership
        Margins x cells 0/1 matrix.

    Returns
    -------
    numpy.ndarray
        Boolean flag per cell, true for a suppressed cell whose value can be recovered.
    """
    sup = np.asarray(suppressed, dtype=bool)
    out = np.zeros(sup.shape[0], dtype=bool)
    idx = np.flatnonzero(sup)
    if idx.size == 0 or membership.shape[0] == 0:
        return out
    sub = membership[:, idx]
    sub = sub[sub.any(axis=1)]
    if sub.shape[0] == 0:
        return out
    rank = np.linalg.matrix_rank(sub)
    for j, cell in enumerate(idx):
        unit = np.zeros(idx.size)
        unit[j] = 1.0
        out[cell] = np.linalg.matrix_rank(np.vstack([sub, unit])) == rank
    return out


def suppress(
    table: pd.DataFrame,
    count_col: str,
    min_cell: int = DEFAULT_MIN_CELL,
    margins: Sequence[Sequence[str]] = ((),),
    keys: Sequence[str] | None = None,
    value_cols: Sequence[str] | None = None,
    blank_count: bool = True,
    complement_first: str | None = None,
) -> pd.DataFrame:
    """Flag and blank small cells, with complementary suppression over the margins.

    Parameters
    ----------
    table
        One row per cell.
    count_col
        Column holding the number of respondents in the cell.
    min_cell
        Cells with fewer respondents than this are suppressed (primary suppression). Cells with
        no respondents are suppressed too (nothing to show).
    margins
        The published (or publishable) totals, each given as the list of columns that identify
        it: ``["time"]`` means "within each time, the cells add up to a total that may be
        shown"; ``[]`` is the grand total. The default protects against the grand total.
    keys
        Columns identifying a cell (e.g. ``["time", "group"]``); never blanked. Default: the
        columns named in ``margins``.
    value_cols
        Columns blanked (set to missing) in suppressed rows; default every column except
        ``count_col`` and ``keys``.
    blank_count
        Also blank ``count_col`` in suppressed rows (default; the count of a hidden cell would
        let its statistics be recovered from a total).
    complement_first
        Optional name of a boolean column marking the cells to hide first when a complement is
        needed (the least informative ones, e.g. "no change" beside "decline" and
        "improvement"); among them, and otherwise, the smallest cell is chosen. The column is
        not part of the output.

    Returns
    -------
    pandas.DataFrame
        A copy with a boolean ``suppressed`` column (primary or complementary), a boolean
        ``primary_suppressed`` column, and the values of suppressed rows blanked.

    Notes
    -----
    Algorithm: (1) primary suppression ``n < min_cell``; (2) while some margin holds exactly one
    suppressed cell and has unsuppressed cells, suppress the unsuppressed cell of that margin
    with the smallest count (NCES practice: the next-smallest cell), among the ``complement_first``
    cells when there are any; (3) while a suppressed cell
    is still recoverable (:func:`recoverable_cells`), suppress the smallest unsuppressed cell of
    one of its margins. A margin whose cells are all suppressed can only be protected by not
    showing its total: the caller must then not publish that total.

    Examples
    --------
    >>> t = pd.DataFrame({"year": [1, 2, 3], "n": [40, 7, 25], "mean": [110.0, 101.0, 108.0]})
    >>> suppress(t, "n", keys=["year"])[["year", "suppressed"]].to_dict("list")
    {'year': [1, 2, 3], 'suppressed': [False, True, True]}
    """
    if count_col not in table.columns:
        raise InputError(f"count column '{count_col}' is not in the table")
    if int(min_cell) < 1:
        raise InputError(f"min_cell must be at least 1, got {min_cell}")
    margins = [list(m) for m in margins]
    for spec in margins:
        for col in spec:
            if col not in table.columns:
                raise InputError(f"margin column '{col}' is not in the table")
    out = table.copy().reset_index(drop=True)
    first = np.zeros(len(out), dtype=bool)
    if complement_first is not None:
        if complement_first not in out.columns:
            raise InputError(f"column '{complement_first}' is not in the table")
        first = out.pop(complement_first).fillna(False).to_numpy(dtype=bool)
    counts = pd.to_numeric(out[count_col], errors="coerce").fillna(0).to_numpy(dtype=float)
    primary = counts < min_cell
    sup = primary.copy()
    member = _margin_matrix(out, margins).matrix

    def complement_in(margin_row: np.ndarray) -> bool:
        cand = np.flatnonzero((margin_row > 0) & ~sup)
        if cand.size == 0:
            return False
        preferred = cand[first[cand]]
        pool = preferred if preferred.size else cand
        pick = pool[np.argmin(counts[pool])]
        sup[pick] = True
        return True

    changed = True
    while changed:
        changed = False
        for m in range(member.shape[0]):
            inside = member[m] > 0
            if int((inside & sup).sum()) == 1 and complement_in(member[m]):
                changed = True
    while True:
        rec = recoverable_cells(sup, member)
        if not rec.any():
            break
        progressed = False
        for cell in np.flatnonzero(rec):
            for m in np.flatnonzero(member[:, cell] > 0):
                if complement_in(member[m]):
                    progressed = True
                    break
            if progressed:
                break
        if not progressed:  # only hiding a total could help: leave it to the caller
            break
    key_set = set(keys) if keys is not None else {c for spec in margins for c in spec}
    if value_cols is None:
        value_cols = [c for c in out.columns if c != count_col and c not in key_set]
    for col in value_cols:
        if out[col].dtype.kind in "iub":
            out[col] = out[col].astype(object)
        out.loc[sup, col] = None if out[col].dtype == object else np.nan
    if blank_count:
        out[count_col] = out[count_col].astype(object)
        out.loc[sup, count_col] = None
    out["suppressed"] = sup
    out["primary_suppressed"] = primary
    return out


# ---------------------------------------------------------------------------- kinds
#: ``suppressed`` values written to CSV, XLSX and JSON: why a cell is hidden.
SMALL = "small"
COMPLEMENTARY = "complementary"
#: Label of the group that :func:`fold_small_groups` folds small groups into.
FOLDED_LABEL = "other / not stated"


def suppression_kind(suppressed: Sequence[bool] | np.ndarray,
                     primary: Sequence[bool] | np.ndarray | None = None) -> np.ndarray:
    """Per cell: ``"small"`` (fewer than ``min_cell`` respondents), ``"complementary"``
    (hidden so that a small cell cannot be worked out from the totals) or ``False`` (shown).

    Without ``primary`` every suppressed cell is taken to be small.
    """
    sup = np.asarray(pd.Series(suppressed).fillna(False), dtype=bool)
    prim = sup if primary is None else np.asarray(pd.Series(primary).fillna(True), dtype=bool)
    out = np.full(sup.shape, False, dtype=object)
    out[sup & prim] = SMALL
    out[sup & ~prim] = COMPLEMENTARY
    return out


def with_kinds(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose ``suppressed`` column says why (:func:`suppression_kind`) and without
    ``primary_suppressed``: the form written to CSV, XLSX and JSON."""
    out = frame.copy()
    if "suppressed" in out.columns:
        out["suppressed"] = suppression_kind(out["suppressed"],
                                             out.get("primary_suppressed"))
    return out.drop(columns=["primary_suppressed"], errors="ignore")


def protected_whiskers(values: Sequence[float] | np.ndarray,
                       min_cell: int = DEFAULT_MIN_CELL) -> tuple[float, float]:
    r"""Box-plot whisker ends that show no single respondent's score.

    The lower whisker is the mean of the ``min_cell`` lowest scores and the upper one the mean
    of the ``min_cell`` highest (a statistic of ``min_cell`` respondents, as a table cell of
    that size), each clamped to the box (:math:`\le Q_1`, :math:`\ge Q_3`) when the tails
    reach into it. Tukey's whiskers (the most extreme score within 1.5 IQR of the box) and
    outliers are individual scores and are never drawn.

    Returns ``(nan, nan)`` for fewer than ``min_cell`` values.
    """
    y = np.sort(np.asarray(values, dtype=float))
    y = y[~np.isnan(y)]
    k = int(min_cell)
    if y.size < max(k, 1):
        return float("nan"), float("nan")
    q1, q3 = np.percentile(y, [25, 75])
    return float(min(y[:k].mean(), q1)), float(max(y[-k:].mean(), q3))


def fold_small_groups(data: pd.DataFrame, column: str, min_cell: int = DEFAULT_MIN_CELL, *,
                      by: str | None = None, label: str = FOLDED_LABEL
                      ) -> tuple[pd.DataFrame, list[Any]]:
    """Fold the levels of ``column`` with fewer than ``min_cell`` respondents (in any value of
    ``by``, e.g. any training year) into one group ``label``, before analysis.

    A small group (say 3 students per year who describe their gender as "X") is suppressed,
    and to keep it from being worked out by subtraction from the year's total a large group
    (the men) is hidden with it. Folding the small groups, together with missing values, into
    one "other / not stated" group keeps the large groups visible; the folded group is then
    suppressed itself if it is still small.

    Returns
    -------
    (frame, folded)
        A copy with the levels replaced (missing values too, when any level is folded) and
        the folded levels; ``frame.attrs["folded_groups"]`` records them.
    """
    if column not in data.columns:
        raise InputError(f"column '{column}' is not in the data")
    keys = [by, column] if by is not None else [column]
    counts = data.groupby(keys, dropna=True, observed=True).size()
    small = counts[(counts > 0) & (counts < int(min_cell))]
    levels = small.index.get_level_values(column) if by is not None else small.index
    folded = sorted(pd.unique(levels), key=str)
    out = data.copy()
    if folded:
        col = out[column].astype(object)
        mask = col.isin(folded) | col.isna()
        out[column] = col.where(~mask, label)
    out.attrs = {**data.attrs, "folded_groups": {column: folded}}
    return out, folded


def complement_note(table: pd.DataFrame, level_col: str, *, time: str = "time",
                    min_cell: int = DEFAULT_MIN_CELL, what: str | None = None) -> str | None:
    """A sentence naming the small groups that forced other groups' cells out, and the way
    out (:func:`fold_small_groups`); ``None`` when no cell is hidden as a complement.

    ``table`` has ``level_col``, ``suppressed`` and ``primary_suppressed`` (one scale).
    """
    if not {"suppressed", "primary_suppressed", level_col} <= set(table.columns):
        return None
    sup = table["suppressed"].fillna(False).astype(bool)
    prim = table["primary_suppressed"].fillna(True).astype(bool)
    comp = table.loc[sup & ~prim, level_col]
    small = table.loc[sup & prim, level_col]
    if comp.empty or small.empty:
        return None
    what = what or level_col

    def names(values: pd.Series) -> str:
        return ", ".join(f"'{v}'" for v in sorted(pd.unique(values), key=str))

    return (f"{what.capitalize()} {names(small)} has fewer than {min_cell} respondents in "
            f"some {time} values; so that it cannot be worked out from the totals, cells of "
            f"{names(comp)} are hidden as well. To show them, fold the {what} groups below "
            f"{min_cell} into one '{FOLDED_LABEL}' group: --fold-small-groups on the command "
            "line, fold_small_groups() in Python.")
