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
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["suppress", "suppress_counts", "membership_matrix", "key_membership",
           "recoverable_cells", "suppressed_label",
           "suppression_kind", "with_kinds", "protected_whiskers", "fold_small_groups",
           "DEFAULT_MIN_CELL", "SMALL", "COMPLEMENTARY", "FOLDED_LABEL"]

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


def membership_matrix(table: pd.DataFrame, margins: Sequence[Sequence[str]]) -> np.ndarray:
    """The margins × cells 0/1 matrix of :func:`suppress` (for :func:`suppress_counts`).

    Each margin spec (a list of columns; ``[]`` is the grand total) gives one row per
    distinct key, in order of first appearance; a key is the text of the columns' values
    (joined), so 1 and "1" are one key.
    """
    rows = []
    n = len(table)
    for spec in margins:
        spec = list(spec)
        if not spec:  # grand total over every cell
            rows.append(np.ones((1, n)))
            continue
        if len(spec) == 1 and table[spec[0]].dtype.kind in "iub":
            # integers (and booleans) are equal exactly when their texts are
            keys = table[spec[0]].to_numpy()
        else:
            text = [table[c].astype(str).to_numpy() for c in spec]
            keys = text[0] if len(text) == 1 else np.array(
                ["\x1f".join(parts) for parts in zip(*text, strict=True)], dtype=object)
        rows.append(key_membership(keys))
    return np.vstack(rows) if rows else np.zeros((0, n))


def key_membership(keys: np.ndarray) -> np.ndarray:
    """One 0/1 row per distinct value of ``keys`` (order of first appearance) marking the
    cells holding it: the margins of one key column."""
    codes, uniq = pd.factorize(keys)
    return (codes == np.arange(len(uniq))[:, None]).astype(float)


def recoverable_cells(
    suppressed: np.ndarray | Sequence[bool], membership: np.ndarray
) -> np.ndarray:
    """Which suppressed cells are determined by the shown cells and the margin totals.

    Each margin ``m`` gives the equation ``sum_{i in m, i suppressed} x_i = total_m - shown``.
    A suppressed cell ``i`` is recoverable exactly when the unit vector ``e_i`` lies in the row
    space of the membership matrix ``A`` restricted to the suppressed cells. With the SVD
    ``A = U S Vᵀ`` and ``V_r`` the right singular vectors of the nonzero singular values, the
    projection onto that row space is ``V_r V_rᵀ``; ``e_i`` lies in the row space iff its
    projection keeps its length, i.e. iff the diagonal entry ``(V_r V_rᵀ)_ii = 1``.

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
    _, sing, vt = np.linalg.svd(sub, full_matrices=False)
    tol = sing.max() * max(sub.shape) * np.finfo(float).eps
    rank = int((sing > tol).sum())
    leverage = (vt[:rank] ** 2).sum(axis=0)
    out[idx] = leverage > 1 - 1e-8
    return out


#: Candidate sets the exact complement search may visit before it keeps the best one found
#: (never worse than the greedy choice); tables of the cohort analyses stay far below it.
SEARCH_BUDGET = 20_000


class _BudgetSpent(Exception):
    pass


def _greedy(counts: np.ndarray, sup: np.ndarray, member: np.ndarray,
            first: np.ndarray) -> np.ndarray:
    """NCES practice: while a margin holds one suppressed cell, hide its smallest other cell
    (among the ``first`` cells when there are any); then, while a cell is recoverable, hide
    the smallest unsuppressed cell of one of its margins. Depends on the order of margins."""
    sup = sup.copy()

    def complement_in(margin_row: np.ndarray) -> bool:
        cand = np.flatnonzero((margin_row > 0) & ~sup)
        if cand.size == 0:
            return False
        preferred = cand[first[cand]]
        pool = preferred if preferred.size else cand
        sup[pool[np.argmin(counts[pool])]] = True
        return True

    changed = True
    while changed:
        changed = False
        for m in range(member.shape[0]):
            if int(((member[m] > 0) & sup).sum()) == 1 and complement_in(member[m]):
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
    return sup


def _least_loss(weight: np.ndarray, primary: np.ndarray, member: np.ndarray,
                bound: float, budget: int = SEARCH_BUDGET) -> np.ndarray | None:
    """The set of complements of least total ``weight`` that leaves no cell recoverable.

    Branch and bound. A margin holding exactly one suppressed cell gives it away, so while
    there is such a margin, the search branches on which of its cells (in order of weight,
    then position) is the first one added, the cells before it being excluded in the later
    branches (each set is visited once); the margin with the fewest candidates is taken,
    ties broken by the cells' positions, so the search does not depend on the order of the
    margins. Without such a margin a set with no recoverable cell (:func:`recoverable_cells`)
    is a solution; otherwise any candidate may be added next. A branch stops when its weight
    plus the least weight it must still add exceeds ``bound`` (the greedy choice's weight),
    or reaches the best solution's weight once one is found, so among sets of equal weight
    the first found wins. ``None`` when no solution within ``bound`` is found; after
    ``budget`` visits the best found so far.
    """
    n = weight.size
    rank = np.empty(n, dtype=int)
    rank[np.lexsort((np.arange(n), weight))] = np.arange(n)
    inside = member > 0
    sup = primary.copy()
    banned = primary.copy()  # suppressed already, or excluded in this branch
    best: list[Any] = [None, bound]
    visits = [0]

    def options(cells: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(cells & ~banned)
        return idx[np.argsort(rank[idx])]

    def over(cost: float) -> bool:
        return cost > best[1] or (best[0] is not None and cost >= best[1])

    def visit(cost: float) -> None:
        visits[0] += 1
        if visits[0] > budget:
            raise _BudgetSpent
        lone = np.flatnonzero((inside & sup).sum(axis=1) == 1)
        if lone.size:
            found = [options(inside[m]) for m in lone]
            if any(c.size == 0 for c in found):
                return  # a margin that can never hold a second hidden cell
            if over(cost + max(weight[c[0]] for c in found)):
                return
            choices = min(found, key=lambda c: (c.size, tuple(rank[c])))
        elif not recoverable_cells(sup, member).any():
            best[0], best[1] = sup.copy(), cost
            return
        else:
            choices = options(np.ones(n, dtype=bool))
        tried = []
        for j in choices:
            if over(cost + weight[j]):
                break  # the later cells weigh as much or more
            sup[j] = banned[j] = True
            visit(cost + weight[j])
            sup[j] = False  # stays banned: the later branches exclude it
            tried.append(j)
        banned[tried] = False

    try:
        visit(0.0)
    except _BudgetSpent:
        pass
    return best[0]


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
        "improvement"): complements among the other cells are avoided first, then the
        respondents hidden are minimised. The column is not part of the output.

    Returns
    -------
    pandas.DataFrame
        A copy with a boolean ``suppressed`` column (primary or complementary), a boolean
        ``primary_suppressed`` column, and the values of suppressed rows blanked.

    Notes
    -----
    Primary suppression: ``n < min_cell``. Complements are *chosen to lose the least*: the set
    of further cells with the fewest respondents in total such that no suppressed cell can
    be recovered from the shown cells and the margin totals (:func:`recoverable_cells`,
    exact linear algebra), found by branch and bound over the cells sorted by size
    (:data:`SEARCH_BUDGET` visits; ties go to the cells first in that order, so the result
    does not depend on the order of ``margins``). The greedy NCES practice (in every margin
    holding one suppressed cell, hide the next-smallest cell; repeat while a cell is
    recoverable) gives the starting bound, so the result never hides more respondents than
    it; it is kept when the search finds nothing better within its budget. A margin whose
    cells are all suppressed can only be protected by not showing its total: the caller must
    then not publish that total.

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
    member = membership_matrix(out, margins)
    sup = _complements(counts, primary, member, first)
    key_set = set(keys) if keys is not None else {c for spec in margins for c in spec}
    if value_cols is None:
        value_cols = [c for c in out.columns if c != count_col and c not in key_set]
    any_sup = bool(sup.any())
    for col in value_cols:
        if out[col].dtype.kind in "iub":
            out[col] = out[col].astype(object)
        if any_sup:
            out.loc[sup, col] = None if out[col].dtype == object else np.nan
    if blank_count:
        out[count_col] = out[count_col].astype(object)
        if any_sup:
            out.loc[sup, count_col] = None
    out["suppressed"] = sup
    out["primary_suppressed"] = primary
    return out


def suppress_counts(counts: np.ndarray | Sequence[float], min_cell: int = DEFAULT_MIN_CELL,
                    membership: np.ndarray | None = None,
                    first: np.ndarray | Sequence[bool] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The suppression pattern of :func:`suppress` on arrays: ``(suppressed, primary)``.

    ``counts`` holds one count per cell, ``membership`` the margins × cells 0/1 matrix
    (default: one margin, the grand total), ``first`` the cells to hide first as complements
    (``complement_first`` of :func:`suppress`). The same primary suppression
    (``count < min_cell``) and least-loss complements as :func:`suppress`, without building
    or copying a table: for callers that hold their cells as arrays.
    """
    counts = np.asarray(counts, dtype=float)
    if int(min_cell) < 1:
        raise InputError(f"min_cell must be at least 1, got {min_cell}")
    member = np.ones((1, counts.size)) if membership is None else membership
    first = (np.zeros(counts.size, dtype=bool) if first is None
             else np.asarray(first, dtype=bool))
    primary = counts < min_cell
    return _complements(counts, primary, member, first), primary


def _complements(counts: np.ndarray, primary: np.ndarray, member: np.ndarray,
                 first: np.ndarray) -> np.ndarray:
    """Primary cells plus the complements of least loss (greedy when the search cannot beat
    it); see :func:`suppress`."""
    greedy = _greedy(counts, primary, member, first)
    if not (greedy & ~primary).any() or member.shape[0] == 0:
        return greedy
    weight = counts.copy()
    if first.any():  # avoid the other cells first, then minimise the respondents hidden
        weight[~first] += counts.sum() + 1
    bound = (float(weight[greedy & ~primary].sum())
             if not recoverable_cells(greedy, member).any() else np.inf)
    best = _least_loss(weight, primary, member, bound)
    return greedy if best is None else best


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
                    min_cell: int = DEFAULT_MIN_CELL, what: str | None = None,
                    foldable: bool = True) -> str | None:
    """A sentence naming the small groups that forced other groups' cells out, and (with
    ``foldable``, for the ``group`` column) the way out (:func:`fold_small_groups`: the
    ``--fold-small-groups`` option, the ``fold_small_groups=True`` argument of ``trend()`` and
    ``build_report()``); ``None`` when no cell is hidden as a complement.

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

    text = (f"{what.capitalize()} {names(small)} has fewer than {min_cell} respondents in "
            f"some {time} values; so that it cannot be worked out from the totals, cells of "
            f"{names(comp)} are hidden as well.")
    if not foldable:
        return text
    if set(map(str, small)) == {FOLDED_LABEL}:  # folded already, and still small
        return (f"{text} The small {what} groups are folded into '{FOLDED_LABEL}' already, "
                f"and it still has fewer than {min_cell} respondents there: only more "
                "respondents, or leaving the group out of the analysis, can show the others.")
    return (f"{text} To show them, fold the {what} groups below {min_cell} into one "
            f"'{FOLDED_LABEL}' group: --fold-small-groups on the command line, "
            "fold_small_groups=True in trend() or build_report().")
