"""Ordinal sample statistics for WLSMV: thresholds, polychoric correlations and their NACOV.

:func:`ordinal_sample_stats` returns, per group, what lavaan computes before a
``cfa(..., ordered = TRUE, estimator = "WLSMV")`` fit (lavaan 0.6-14, its defaults):

* thresholds of each item, univariate probit (``lavInspect(fit, "sampstat")$th``):
  :math:`\\tau_{j,k} = \\Phi^{-1}(\\sum_{c \\le k} \\hat p_{j,c})`, the ML estimate when the
  thresholds are the only parameters;
* polychoric correlations, two-step (thresholds fixed), no continuity correction
  (:func:`empathy_metrics.correlation.polychoric_two_step`);
* their asymptotic covariance (``lavInspect(fit, "gamma")``, Muthen 1984; see
  :mod:`.ordinal_nacov`) and the diagonal DWLS weights ``1 / diag(gamma)``
  (``diag(lavInspect(fit, "wls.v"))``).

Order of the statistics (lavaan's ``WLS.obs`` for ordered items without covariates): the
thresholds item by item (in the order of ``items``), each item's thresholds increasing; then the
correlations of the lower triangle without diagonal, column by column:
(2,1), (3,1), ..., (p,1), (3,2), ..., (p,p-1) (1-based; lavaan names ``A1~~A2``, ``A1~~A3`` ...).

Assumptions and choices (as lavaan): items are integer codes; an item's categories are the
distinct values it takes anywhere in the data (before listwise deletion, all groups together);
rows missing any item (or the group) are dropped (listwise, lavaan's default for ordered data;
``missing="pairwise"`` as lavaan's pairwise option); groups are sorted (lavaan: order of first
appearance). Every category must be used in every group among the rows used (lavaan 0.6-14
stops otherwise); here that is an error naming the item, group and value.

References
----------
Muthen, B. (1984). Psychometrika 49, 115-132. Olsson, U. (1979). Psychometrika 44, 443-460.
Rosseel, Y. (2012). lavaan. J Stat Softw 48(2); lavaan 0.6 ``muthen1984``,
``lav_samplestats_step1``, ``lav_samplestats_step2``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..correlation import LAVAAN_RHO_BOUND, polychoric_two_step
from ..errors import DataError, DegenerateDataError, DegenerateDataWarning, InputError
from .ordinal_nacov import nacov, pair_tables

__all__ = ["OrdinalGroupStats", "OrdinalSampleStats", "ordinal_sample_stats"]

#: Items with more categories than this are refused (they are not ordinal ratings).
MAX_CATEGORIES = 20


@dataclass(frozen=True)
class OrdinalGroupStats:
    """Ordinal sample statistics of one group (lavaan's ``lavsamplestats`` for group g).

    Attributes
    ----------
    label
        Group value (``None`` for one group).
    items
        Item names, in the order of the statistics.
    levels
        Per item, the sorted category values (as in the data).
    n
        Rows used (listwise: complete on every item; pairwise: at least one answer).
    thresholds
        Per item, its ``len(levels[j]) - 1`` increasing thresholds.
    corr
        p x p polychoric correlations (unit diagonal).
    stats_vector
        Thresholds then correlations (see the module docstring for the order).
    gamma
        NACOV of ``stats_vector`` (``N`` times its asymptotic covariance), as
        ``lavInspect(fit, "gamma")``.
    wls_weights
        ``1 / diag(gamma)``: the diagonal of lavaan's DWLS weight matrix ``wls.v``.
    th_item, th_index
        For each threshold entry: the item's position (0-based) and the threshold number
        (1-based, lavaan's ``A1|t1`` ...).
    corr_index
        (n_corr, 2): row and column item (0-based, row > column) of each correlation entry.
    """

    label: Any
    items: list[str]
    levels: list[np.ndarray]
    n: int
    thresholds: list[np.ndarray]
    corr: np.ndarray
    stats_vector: np.ndarray
    gamma: np.ndarray
    wls_weights: np.ndarray
    th_item: np.ndarray
    th_index: np.ndarray
    corr_index: np.ndarray

    @property
    def n_thresholds(self) -> int:
        """Number of thresholds (the first entries of ``stats_vector``)."""
        return int(self.th_item.size)

    @property
    def n_corr(self) -> int:
        """Number of correlations (the last entries of ``stats_vector``)."""
        return int(self.corr_index.shape[0])

    @property
    def names(self) -> list[str]:
        """lavaan's names of the statistics: ``A1|t1`` ..., then ``A1~~A2`` ..."""
        th = [f"{self.items[j]}|t{k}" for j, k in zip(self.th_item, self.th_index, strict=True)]
        cor = [f"{self.items[b]}~~{self.items[a]}" for a, b in self.corr_index]
        return th + cor


@dataclass(frozen=True)
class OrdinalSampleStats:
    """Ordinal sample statistics of every group (one element for single-group data)."""

    groups: list[OrdinalGroupStats]
    items: list[str]
    group: str | None
    n_total: int
    n_dropped: int
    missing: str = "listwise"

    def __getitem__(self, g: int) -> OrdinalGroupStats:
        return self.groups[g]

    def __len__(self) -> int:
        return len(self.groups)


def lavaan_pairs(p: int) -> np.ndarray:
    """(row, column) item pairs, row > column, column by column (lavaan's vech order)."""
    return np.array([(i, j) for j in range(p - 1) for i in range(j + 1, p)], dtype=int).reshape(
        -1, 2
    )


def _where(label: Any) -> str:
    return "" if label is None else f" in group '{label}'"


def _codes(frame: pd.DataFrame, items: Sequence[str], source: str | None
           ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Integer codes (0-based, -1 missing) and each item's sorted category values."""
    codes = np.full((len(frame), len(items)), -1, dtype=int)
    levels = []
    for j, item in enumerate(items):
        if item not in frame.columns:
            raise InputError(f"item '{item}' is not a column of the data", file=source,
                             column=item, hint="item names must match the data's columns")
        col = pd.to_numeric(frame[item], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = (frame[item].notna().to_numpy() & np.isnan(col)) | (
            ~np.isnan(col) & (col != np.round(col)))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            where = ({"index": frame.index[pos]} if source is None else
                     {"file": source, "row": int(frame.attrs.get("first_row", 2)) + pos})
            value = frame[item].iloc[pos]
            value = value.item() if isinstance(value, np.generic) else value  # 4.5, not np.float64
            raise DataError(
                f"value {value!r} of item '{item}' is not an integer category "
                "code", column=item, hint="ordinal (WLSMV) analysis needs integer-coded "
                "answers such as 1-7", **where)
        ok = ~np.isnan(col)
        lev = np.unique(col[ok])
        if lev.size < 2:
            raise DegenerateDataError(
                f"item '{item}' has {lev.size} observed categor{'y' if lev.size == 1 else 'ies'}"
                "; thresholds and polychoric correlations need at least two", file=source,
                column=item, hint="drop the item from the model")
        if lev.size > MAX_CATEGORIES:
            raise DataError(
                f"item '{item}' has {lev.size} distinct values; ordinal (WLSMV) analysis is for "
                f"rating items with at most {MAX_CATEGORIES} categories", file=source,
                column=item, hint="use estimator 'ml' or 'mlr' for continuous scores")
        codes[ok, j] = np.searchsorted(lev, col[ok])
        levels.append(lev)
    return codes, levels


def _check_categories(codes: np.ndarray, levels: list[np.ndarray], items: Sequence[str],
                      label: Any, source: str | None) -> list[np.ndarray]:
    """Each item's category counts; an error if a category is empty (lavaan 0.6-14 stops)."""
    freqs = []
    for j, lev in enumerate(levels):
        col = codes[:, j]
        freq = np.bincount(col[col >= 0], minlength=lev.size)
        freqs.append(freq)
        if (freq == 0).any():
            empty = [f"{v:g}" for v in lev[freq == 0]]
            counts = ", ".join(f"{v:g}: {f}" for v, f in zip(lev, freq, strict=True))
            raise DataError(
                f"nobody{_where(label)} answered {' or '.join(empty)} on item '{items[j]}' "
                f"(among the rows used; counts {counts}); its thresholds cannot be estimated",
                file=source, column=items[j],
                hint="if it is not a valid answer set it to missing; otherwise collapse it "
                     "with its neighbour (recode) in every group, or drop the item")
    return freqs


def _group_stats(codes: np.ndarray, levels: list[np.ndarray], items: list[str], label: Any,
                 source: str | None) -> OrdinalGroupStats:
    """Thresholds, polychoric correlations and NACOV of one group's codes (-1: missing)."""
    n, p = codes.shape
    if n < 2:
        raise DataError(f"{n} respondent(s) with answers{_where(label)}; ordinal statistics "
                        "need many more", file=source, hint="collect more responses")
    freqs = _check_categories(codes, levels, items, label, source)
    tau = [special.ndtri(np.cumsum(f)[:-1] / f.sum()) for f in freqs]
    pairs = lavaan_pairs(p)
    rho = _polychorics(codes, tau, pairs, items, label, source)
    corr = np.eye(p)
    corr[pairs[:, 0], pairs[:, 1]] = rho
    corr[pairs[:, 1], pairs[:, 0]] = rho
    _warn_not_positive_definite(corr, label)
    gamma = nacov(codes, tau, pairs, rho, items)
    diag = np.diag(gamma)
    if not np.all(np.isfinite(diag) & (diag > 0)):
        raise DegenerateDataError(
            f"the asymptotic variances of the ordinal statistics{_where(label)} are not all "
            "positive; DWLS weights cannot be formed", file=source,
            hint="collapse sparse categories, drop near-duplicate items or collect more data")
    th_item = np.concatenate([np.full(t.size, j) for j, t in enumerate(tau)])
    th_index = np.concatenate([np.arange(1, t.size + 1) for t in tau])
    return OrdinalGroupStats(
        label=label, items=list(items), levels=levels, n=int(n), thresholds=tau, corr=corr,
        stats_vector=np.concatenate(tau + [rho]), gamma=gamma, wls_weights=1.0 / diag,
        th_item=th_item, th_index=th_index, corr_index=pairs)


def _polychorics(codes: np.ndarray, tau: list[np.ndarray], pairs: np.ndarray,
                 items: list[str], label: Any, source: str | None) -> np.ndarray:
    """Two-step polychoric correlation of every pair (lavaan's order)."""
    n, p = codes.shape
    n_cat = np.array([t.size + 1 for t in tau])
    c = int(n_cat.max())
    pad = np.full((p, c - 1), np.inf)
    for j, t in enumerate(tau):
        pad[j, : t.size] = t
    ix, iy = pairs[:, 0], pairs[:, 1]
    tables = pair_tables(codes, pairs, c)
    empty = tables.sum(axis=(1, 2)) < 2
    if empty.any():
        k = int(np.flatnonzero(empty)[0])
        raise DataError(
            f"items {items[iy[k]]} and {items[ix[k]]} are (almost) never answered together"
            f"{_where(label)}; their polychoric correlation cannot be estimated", file=source,
            hint="drop one of them or use missing='listwise'")
    binary = (n_cat[ix] == 2) & (n_cat[iy] == 2)
    two_empty = binary & ((tables[:, :2, :2] == 0).sum(axis=(1, 2)) == 2)
    if two_empty.any():
        k = int(np.flatnonzero(two_empty)[0])
        a, b = items[ix[k]], items[iy[k]]
        raise DegenerateDataError(
            f"binary items {b} and {a}{_where(label)} are perfectly related (two empty cells "
            "in their 2 x 2 table); their tetrachoric correlation is +-1", file=source,
            hint="drop one of the two items")
    rho = polychoric_two_step(tables, pad[ix], pad[iy], binary=binary,
                              start=_table_pearson(tables))
    at_bound = np.abs(rho) >= LAVAAN_RHO_BOUND - 1e-9
    if at_bound.any():
        k = int(np.flatnonzero(at_bound)[0])
        warnings.warn(
            f"the polychoric correlation of {items[iy[k]]} and {items[ix[k]]}{_where(label)} "
            f"is (nearly) {rho[k]:+.3f}; the items are (almost) the same",
            DegenerateDataWarning, stacklevel=4)
    return rho


def _table_pearson(tables: np.ndarray) -> np.ndarray:
    """Pearson correlation of the category codes of each table (lavaan's starting value)."""
    prob = tables / tables.sum(axis=(1, 2))[:, None, None]
    k = np.arange(tables.shape[1], dtype=float)
    px, py = prob.sum(axis=2), prob.sum(axis=1)
    mx, my = px @ k, py @ k
    vx, vy = px @ k**2 - mx**2, py @ k**2 - my**2
    cxy = np.einsum("mab,a,b->m", prob, k, k) - mx * my
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cxy / np.sqrt(vx * vy)
    return np.where(np.isfinite(r), r, 0.0)


def _warn_not_positive_definite(corr: np.ndarray, label: Any) -> None:
    smallest = float(np.linalg.eigvalsh(corr)[0])
    if smallest <= 0:
        warnings.warn(
            f"the polychoric correlation matrix{_where(label)} is not positive definite "
            f"(smallest eigenvalue {smallest:.3g}); WLSMV (DWLS) can still be fitted, as "
            "lavaan does, but collapsing sparse categories, dropping near-duplicate items or "
            "more respondents would make the statistics more stable",
            DegenerateDataWarning, stacklevel=4)


def ordinal_sample_stats(data: pd.DataFrame, items: Sequence[str], group: str | None = None,
                         *, missing: str = "listwise", source: str | None = None
                         ) -> OrdinalSampleStats:
    """Thresholds, polychoric correlations and their NACOV, per group, as lavaan.

    Parameters
    ----------
    data
        Respondents x columns; ``items`` hold integer category codes (``NaN`` missing).
    items
        The ordered items, in the order of the statistics.
    group
        Optional group column (lavaan ``group =``); groups are sorted; rows without a group
        are dropped.
    missing
        ``"listwise"`` (lavaan's default for ordered items: rows missing any item are
        dropped) or ``"pairwise"`` (lavaan ``missing = "pairwise"``: thresholds from each
        item's answers, each correlation from the rows answering both, missing answers score
        0 in the NACOV, ``n`` = rows with at least one answer).
    source
        File name for error messages (default ``data.attrs["source"]``).

    Returns
    -------
    OrdinalSampleStats
        ``.groups[g]`` is an :class:`OrdinalGroupStats` (see the module docstring for the
        formulas, the order of the statistics and the assumptions).

    Raises
    ------
    InputError
        An item or the group column is not in the data.
    DataError
        Non-integer codes, more than 20 categories, a category nobody chose in a group (among
        the rows used), a pair never answered together, fewer than two groups with ``group``.
    DegenerateDataError
        An item with one category, a perfectly related pair of binary items, singular
        information.

    Warns
    -----
    DegenerateDataWarning
        A polychoric matrix that is not positive definite, a correlation at lavaan's bound 0.999.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": [1, 2, 3, 2, 1, 3, 2, 2], "b": [1, 2, 3, 3, 1, 2, 2, 1]})
    >>> s = ordinal_sample_stats(d, ["a", "b"])
    >>> s[0].names
    ['a|t1', 'a|t2', 'b|t1', 'b|t2', 'a~~b']
    """
    from .._cfa_input import sorted_labels

    if source is None:
        source = data.attrs.get("source")
    items = [str(i) for i in items]
    if len(items) < 2:
        raise InputError("ordinal statistics need at least two items", file=source)
    if missing not in ("listwise", "pairwise"):
        raise InputError(f"missing must be 'listwise' or 'pairwise' for ordinal data, got "
                         f"{missing!r}", hint="lavaan's default for ordered items is listwise")
    codes, levels = _codes(data, items, source)
    observed = codes >= 0
    keep = observed.all(axis=1) if missing == "listwise" else observed.any(axis=1)
    word = "complete answers" if missing == "listwise" else "answers"
    if group is None:
        groups = [_group_stats(codes[keep], levels, items, None, source)]
    else:
        if group not in data.columns:
            raise InputError(f"group column '{group}' not found", file=source, column=group,
                             hint=f"columns are {', '.join(map(str, data.columns[:30]))}")
        keep = keep & data[group].notna().to_numpy()
        labels, uniq = sorted_labels(data[group][keep])
        if len(uniq) < 2:
            raise DataError(f"group column '{group}' has {len(uniq)} group(s) with {word}; "
                            "a multi-group model needs at least two", file=source,
                            column=group)
        lab = labels.to_numpy()
        sub = codes[keep]
        groups = [_group_stats(sub[lab == u], levels, items, u, source) for u in uniq]
    return OrdinalSampleStats(groups=groups, items=items, group=group,
                              n_total=int(sum(g.n for g in groups)),
                              n_dropped=int(len(data) - keep.sum()), missing=missing)
