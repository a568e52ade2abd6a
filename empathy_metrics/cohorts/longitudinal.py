"""Longitudinal analyses (the same students followed over time): mixed models, paired
adjacent change and the Jacobson–Truax reliable change index."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._classical import one_sample_t
from ..effect_sizes import mean_ci
from ..errors import DataError
from ..suppression import key_membership, suppress_counts
from ._base import (
    DIFFERENT_STUDENTS,
    RCI_CRITICAL,
    SAME_STUDENTS,
    TrendInput,
    _apply_pattern,
    _paired_diff,
    _pattern,
    _wide,
)


def cronbach_alpha(items: np.ndarray) -> float:
    """Cronbach's alpha ``k/(k−1) · (1 − Σ s_j² / s_X²)`` of complete rows (psych::alpha raw).

    Used only as the fallback reliability of the reliable change index when no ``alpha`` is
    given; :mod:`empathy_metrics.reliability` is the full implementation.
    """
    x = np.asarray(items, dtype=float)
    x = x[~np.isnan(x).any(axis=1)]
    k = x.shape[1]
    if k < 2 or x.shape[0] < 3:
        return float("nan")
    total_var = x.sum(axis=1).var(ddof=1)
    if total_var == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total_var))


def _paired_rows(scale: str, wide: dict[Any, np.ndarray], kept: list[Any]
                 ) -> list[dict[str, Any]]:
    """Adjacent paired change (R ``t.test(paired = TRUE)``) of the shown times."""
    rows = []
    for a, b in zip(sorted(kept)[:-1], sorted(kept)[1:], strict=True):
        diff = _paired_diff(wide, a, b)
        row = {"scale": scale, "from": a, "to": b, "n": diff.size}
        if diff.size >= 2:
            lo, hi = mean_ci(diff)
            sd = diff.std(ddof=1)
            tt = one_sample_t(diff, 0.0) if sd > 0 else None
            row.update(mean_change=diff.mean(), sd_change=sd, ci_low=lo, ci_high=hi,
                       dz=diff.mean() / sd if sd > 0 else np.nan,
                       p=float(tt.pvalue) if tt is not None else np.nan)
        rows.append(row)
    return rows


def _reliability(inp: TrendInput, scale: str, shown: np.ndarray,
                 alpha: Mapping[str, float] | None,
                 alpha_by_time: Mapping[Any, Mapping[str, float]] | None
                 ) -> tuple[float | None, str]:
    """The alpha of the RCI: given, given for the reference time, or computed there
    (``shown``: the positions of the scale's shown rows)."""
    reference = inp.reference
    if alpha is not None and scale in alpha:
        return float(alpha[scale]), "given"
    if alpha_by_time is not None and scale in alpha_by_time.get(reference, {}):
        return float(alpha_by_time[reference][scale]), "given for reference"
    if inp.keyed is not None:
        at_ref = shown[inp.time_values[shown] == reference]
        return cronbach_alpha(inp.keyed_items(scale, at_ref)), "Cronbach alpha at reference"
    return None, ""


def _rci_rows(inp: TrendInput, scale: str, wide: dict[Any, np.ndarray], rel: float,
              rel_src: str) -> list[dict[str, Any]]:
    """Jacobson–Truax counts of reliable decline, no change and improvement from the reference."""
    reference = inp.reference
    ref_y = inp.values[scale][reference]
    s_diff = np.sqrt(2) * ref_y.std(ddof=1) * np.sqrt(1 - rel)
    rows = []
    for t in inp.kept[1:]:
        if reference not in wide or t not in wide:
            continue
        rci = _paired_diff(wide, reference, t) / s_diff
        base = {"scale": scale, "from": reference, "to": t, "n": rci.size,
                "alpha": rel, "alpha_source": rel_src, "s_diff": s_diff}
        for cat, count in (("decline", int((rci < -RCI_CRITICAL).sum())),
                           ("no_change", int((np.abs(rci) <= RCI_CRITICAL).sum())),
                           ("improvement", int((rci > RCI_CRITICAL).sum()))):
            rows.append({**base, "category": cat, "count": count})
    return rows


def _protect_reliable_change(rc: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Suppress the reliable-change counts of each scale (margins: each target time's n) and
    add each category's ``share`` of the pairs, from shown numbers only.

    One :func:`empathy_metrics.suppression.suppress_counts` per scale on the count arrays (a
    complement hides "no change" rather than the decline or improvement count); the table of
    all scales is blanked once.
    """
    if rc.empty:
        return rc
    out = rc.reset_index(drop=True)
    counts = pd.to_numeric(out["count"], errors="coerce").fillna(0).to_numpy(dtype=float)
    no_change = (out["category"] == "no_change").to_numpy()
    to_text = out["to"].astype(str).to_numpy()
    scale_v = out["scale"].to_numpy()
    hide = np.zeros(len(out), dtype=bool)
    small = np.zeros(len(out), dtype=bool)
    for scale in pd.unique(scale_v):
        at = np.flatnonzero(scale_v == scale)
        hide[at], small[at] = suppress_counts(counts[at], min_cell, key_membership(to_text[at]),
                                              first=no_change[at])
    out["count"] = out["count"].astype(object)
    out.loc[hide, "count"] = None
    out["suppressed"] = hide
    out["primary_suppressed"] = small
    out["n"] = out["n"].astype(object)
    out.loc[out["n"].astype(float) < min_cell, "n"] = None  # too few pairs to show at all
    shown = out["n"].notna() & out["count"].notna()
    out["share"] = np.where(shown, out["count"].astype(float) / out["n"].astype(float), np.nan)
    return out


def _protect_paired(paired: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    if paired.empty:
        return paired
    cnt = paired.groupby(["from", "to"], sort=False)["n"].min().reset_index()
    return _apply_pattern(paired, _pattern(cnt, ["from", "to"], [[]], min_cell),
                          ["from", "to"])


def longitudinal_tables(inp: TrendInput, linear_trend: Mapping[str, dict[str, Any] | None], *,
                        alpha: Mapping[str, float] | None = None,
                        alpha_by_time: Mapping[Any, Mapping[str, float]] | None = None,
                        mixed: bool = True, random_slope: bool = False,
                        changes: bool = True
                        ) -> tuple[dict[str, Any], dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Mixed models, linear slopes, paired change and reliable change of every scale.

    Without repeated ids (or with a hidden reference, or fewer than two shown times) the mixed
    models are ``None`` and the linear slope is the cross-sectional OLS ``linear_trend``.
    Only the shown times enter. Returns ``(mixed_model, linear_slope, paired,
    reliable_change)``; with ``changes=False`` only the models and slopes are computed (the
    paired and reliable-change tables are empty), for callers that want the models alone.
    """
    mixed_out: dict[str, Any] = {}
    slope_out: dict[str, Any] = {}
    paired_rows: list[dict[str, Any]] = []
    rc_rows: list[dict[str, Any]] = []
    notes, kept = inp.notes, inp.kept
    id_values = inp.frame[inp.id].to_numpy() if inp.longitudinal else None
    for scale in inp.scales:
        mixed_out[scale] = None
        slope_out[scale] = linear_trend[scale]
        if inp.longitudinal and (not inp.shown[inp.reference] or len(kept) < 2):
            notes.append(f"{scale}: longitudinal analyses skipped (reference time suppressed "
                         "or fewer than two times shown)")
            continue
        if not inp.longitudinal:
            continue
        shown = inp.shown_positions(scale)
        y, tv, ids = inp.score_arrays[scale][shown], inp.time_values[shown], id_values[shown]
        if mixed:
            _fit_mixed_models(scale, y, tv, ids, kept, inp.times, inp.time_kind, inp.tnum,
                              inp.tnum_note, random_slope, mixed_out, slope_out, notes)
        if not changes:
            continue
        wide = _wide(ids, tv, y)
        paired_rows.extend(_paired_rows(scale, wide, kept))
        rel, rel_src = _reliability(inp, scale, shown, alpha, alpha_by_time)
        if rel is None or not np.isfinite(rel) or not 0 < rel < 1:
            notes.append(f"{scale}: reliable change index skipped (no usable alpha)")
        else:
            rc_rows.extend(_rci_rows(inp, scale, wide, rel, rel_src))
    rc = _protect_reliable_change(pd.DataFrame(rc_rows), inp.min_cell)
    paired = _protect_paired(pd.DataFrame(paired_rows), inp.min_cell)
    for table in (rc, paired):
        if not table.empty:
            table["design"] = SAME_STUDENTS
    for scale in inp.scales:
        if mixed_out[scale] is not None:
            mixed_out[scale]["design"] = SAME_STUDENTS
        if slope_out[scale] is not None:
            slope_out[scale] = {**slope_out[scale], "design": SAME_STUDENTS
                                if mixed_out[scale] is not None else DIFFERENT_STUDENTS}
    return mixed_out, slope_out, paired, rc


def _fit_mixed_models(scale: str, y: np.ndarray, tvals: np.ndarray, ids: np.ndarray,
                      kept: list[Any], times: list[Any], hidden: Mapping[Any, Any],
                      tnum: Mapping[Any, float], tnum_note: str, random_slope: bool,
                      mixed_out: dict[str, Any], slope_out: dict[str, Any],
                      notes: list[str]) -> None:
    """Fit the categorical and linear mixed models of one scale into the output dicts."""
    from ..mixed import fit_mixed

    t_numeric = np.array([tnum[t] for t in tvals], dtype=float)
    try:
        fit = fit_mixed(y, tvals, ids, categorical=True, levels=kept,
                        random_slope=random_slope, slope_time=t_numeric)
        lin = fit_mixed(y, t_numeric, ids, categorical=False, random_slope=random_slope)
    except DataError as exc:
        notes.append(f"{scale}: mixed model not fitted ({exc})")
        return
    for model in (fit, lin):
        notes.extend(f"{scale}: mixed model {model.formula}: {n}" for n in model.notes)
    md = fit.to_dict()
    for t in times:
        if hidden[t]:  # "small" | "complementary": why the time is hidden
            md["terms"][f"time[{t}]"] = {"estimate": None, "se": None, "ci": [None, None],
                                         "p": None, "suppressed": hidden[t]}
    md["time_levels"] = list(times)
    mixed_out[scale] = md
    ls = dict(lin.terms["time"])
    ls.update(method=f"mixed model {lin.formula} ({tnum_note})", sigma=lin.sigma,
              sd_intercept=lin.sd_intercept, sd_slope=lin.sd_slope,
              converged=lin.converged)
    slope_out[scale] = ls
