"""Change in empathy across training years: cross-sectional, longitudinal, cohorts and groups.

:func:`trend` takes scored (or raw) long-format data — one row per respondent and time — and
returns a :class:`TrendResult` holding, for every scale: descriptives by time, change from a
reference time (Welch mean difference, Cohen's d and Hedges' g with noncentral-t CIs), Welch's
ANOVA, Kruskal–Wallis, a linear trend, Holm-adjusted adjacent-time comparisons, a
random-intercept mixed model when respondent ids repeat, paired adjacent change and the
Jacobson–Truax reliable change index, entering-cohort trajectories, group differences within
each time, the scores against the instrument's published norms and item-level mean change.
:func:`item_change` and :func:`reliability_by_time` give the item-level change and Cronbach's
alpha per time on their own (the numbers the item heatmap and the alpha plot draw).

Small cells: every table goes through :func:`empathy_metrics.suppression.suppress` (small cells
and their complements are blanked). One suppression pattern is computed per table and applied to
every scale alike (from the smallest count of any scale in each cell), so that no hidden cell of
one scale can be recovered from the shown cells of another (e.g. a hidden total from shown
subscale means).

References: Hojat M et al. (2009) "The devil is in the third year", Acad Med 84:1182–1191;
Colliver JA et al. (2010) Acad Med 85:588–593 (report change in scale points as well as SD
units); Jacobson NS, Truax P (1991) J Consult Clin Psychol 59:12–19 (reliable change).
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._results import Result, jsonable
from .effect_sizes import cohens_d, holm, mean_ci, welch_anova, welch_difference
from .errors import DataError, DegenerateDataWarning, InputError
from .instruments import Instrument, load_instrument
from .suppression import DEFAULT_MIN_CELL, suppress

__all__ = [
    "trend",
    "TrendResult",
    "item_change",
    "ItemChangeResult",
    "reliability_by_time",
    "ReliabilityByTimeResult",
    "cronbach_alpha",
    "score_histogram",
    "HistogramResult",
    "score_resolution",
    "default_bin_width",
    "RCI_CRITICAL",
]

#: Two-sided 95 % critical value of the reliable change index.
RCI_CRITICAL = 1.959963984540054

_CHANGE_COLS = ["diff_vs_ref", "diff_ci_low", "diff_ci_high", "diff_p", "d_vs_ref", "d_ci_low",
                "d_ci_high", "g_vs_ref", "g_ci_low", "g_ci_high"]
_BY_TIME_STATS = ["mean", "sd", "se", "ci_low", "ci_high", "median", "q1", "q3", "iqr",
                  "whisker_low", "whisker_high", "diff_vs_ref", "diff_ci_low", "diff_ci_high",
                  "diff_p", "d_vs_ref", "d_ci_low", "d_ci_high", "g_vs_ref", "g_ci_low",
                  "g_ci_high"]


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


@dataclass
class TrendResult(Result):
    """Everything :func:`trend` computed; tables are long DataFrames with a ``scale`` column.

    Attributes
    ----------
    by_time
        Per scale and time: n, mean, sd, se, 95 % CI, median, quartiles, IQR, box-plot whiskers,
        change vs the reference (``diff_vs_ref`` with Welch CI and p, ``d_vs_ref``, ``g_vs_ref``
        with CIs) and ``suppressed``.
    tests
        Per scale: ``welch_anova``, ``kruskal``, ``linear_trend`` (OLS of score on time) and
        ``adjacent`` (Welch t with Holm-adjusted p).
    mixed_model, linear_slope
        Per scale: the random-intercept model with time as a factor (or ``None`` without
        repeated ids), and the linear time slope (mixed model when ids repeat, else OLS).
    paired, reliable_change
        Adjacent paired change and Jacobson–Truax counts (longitudinal data only).
    cohort_trajectories, group_stats, group_differences, cohort_differences
        Entering cohort × time and group × time means (n, SD, 95 % CI); within each time, each
        group (cohort) against the reference group (cohort) as a Welch difference and d / g
        with CIs — so a director can see whether this year's class differs from earlier ones.
    item_change
        Item × time mean change of keyed item scores from the reference (raw items needed);
        :attr:`items` holds the same as an :class:`ItemChangeResult` (with n per time).
    norms
        Per scale and shown time, the scores against the instrument's published norm (group
        ``"all"``): mean z, z of the mean, percentile rank of the mean and median percentile
        rank (only scales whose norm the instrument's YAML carries).
    distribution
        Per scale and time: n, mean, sd, ``min``, q1, median, q3, ``max`` and ``mode`` (see
        :func:`score_histogram` for how the minimum, maximum and mode are protected; flags
        ``min_coded`` / ``max_coded`` mark a bottom-/top-coded bound) and ``suppressed``.
    histogram
        Per scale and time, the protected histogram of scores (the ``table`` of
        :func:`score_histogram` with the default bin width).
    scores
        The individual scores of the shown times (columns ``scale``, ``time``, ``value``), kept
        for the points of the distribution plot; never written to JSON.
    random_slope
        Whether the mixed models have a random slope of time.
    """

    instrument: Instrument
    time: str
    times: list[Any]
    reference: Any
    scales: list[str]
    min_cell: int
    by_time: pd.DataFrame
    tests: dict[str, dict[str, Any]]
    mixed_model: dict[str, dict[str, Any] | None]
    linear_slope: dict[str, dict[str, Any] | None]
    paired: pd.DataFrame
    reliable_change: pd.DataFrame
    cohort_trajectories: pd.DataFrame
    group_stats: pd.DataFrame
    group_differences: pd.DataFrame
    item_change: pd.DataFrame | None
    norms: pd.DataFrame = field(default_factory=pd.DataFrame)
    cohort_differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    items: ItemChangeResult | None = None
    scores: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    distribution: pd.DataFrame = field(default_factory=pd.DataFrame)
    histogram: pd.DataFrame = field(default_factory=pd.DataFrame)
    random_slope: bool = False
    id: str | None = None
    cohort: str | None = None
    group: str | None = None
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Change across time", repr=False)

    def scale_range(self, scale: str) -> tuple[float, float]:
        """Possible range of ``scale`` (for plot axes)."""
        return self.instrument.scale_range(scale)

    def to_frame(self) -> pd.DataFrame:
        cols = ["scale", "time", "n", "mean", "sd", "ci_low", "ci_high", "diff_vs_ref",
                "d_vs_ref", "g_vs_ref", "suppressed"]
        return self.by_time[cols]

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (see ``empathy trend --format json``)."""
        out: dict[str, Any] = {"instrument": self.instrument.id, "time": self.time,
                               "id": self.id, "cohort": self.cohort, "group": self.group,
                               "reference": self.reference, "min_cell": self.min_cell,
                               "scales": {}, "notes": list(self.notes)}
        for scale in self.scales:
            rows = []
            for r in self.by_time[self.by_time["scale"] == scale].itertuples(index=False):
                rows.append({
                    "time": r.time, "n": r.n, "mean": r.mean, "sd": r.sd, "se": r.se,
                    "ci": [r.ci_low, r.ci_high], "median": r.median, "q1": r.q1, "q3": r.q3,
                    "iqr": r.iqr,
                    "diff_vs_ref": r.diff_vs_ref, "diff_ci": [r.diff_ci_low, r.diff_ci_high],
                    "d_vs_ref": r.d_vs_ref, "d_ci": [r.d_ci_low, r.d_ci_high],
                    "g_vs_ref": r.g_vs_ref, "g_ci": [r.g_ci_low, r.g_ci_high],
                    "diff_p": r.diff_p, "suppressed": bool(r.suppressed),
                })

            def rows_of(frame: pd.DataFrame, scale: str = scale) -> list[dict[str, Any]]:
                if frame.empty:
                    return []
                sub = frame[frame["scale"] == scale].drop(columns="scale")
                return jsonable(sub)

            out["scales"][scale] = {
                "by_time": rows,
                "tests": self.tests[scale],
                "mixed_model": self.mixed_model[scale],
                "linear_slope": self.linear_slope[scale],
                "paired": rows_of(self.paired),
                "reliable_change": rows_of(self.reliable_change),
                "cohorts": rows_of(self.cohort_trajectories),
                "groups": rows_of(self.group_stats),
                "group_differences": rows_of(self.group_differences),
                "cohort_differences": rows_of(self.cohort_differences),
                "norms": rows_of(self.norms),
                "distribution": rows_of(self.distribution.drop(
                    columns=["primary_suppressed"], errors="ignore")),
                "histogram": rows_of(self.histogram.drop(
                    columns=["primary_suppressed"], errors="ignore")),
            }
        out["random_slope"] = self.random_slope
        if self.items is not None:
            out["item_change"] = self.items.to_dict()
        return jsonable(out)

    def summary(self) -> str:
        inst = self.instrument
        lines = [f"{self.title}: {inst.name} ({inst.id}) by '{self.time}', "
                 f"reference {self.reference}; cells with n < {self.min_cell} suppressed"]
        for scale in self.scales:
            lo, hi = self.scale_range(scale)
            lines.append(f"\n{inst.scale_name(scale)} (range {lo:g}-{hi:g})")
            t = self.by_time[self.by_time["scale"] == scale]
            for r in t.itertuples(index=False):
                if r.suppressed:
                    lines.append(f"  {r.time!s:>8}  suppressed (n < {self.min_cell})")
                    continue
                change = ""
                if r.time != self.reference and r.d_vs_ref == r.d_vs_ref:
                    change = (f"  change {r.diff_vs_ref:+.2f} [{r.diff_ci_low:.2f}, "
                              f"{r.diff_ci_high:.2f}], d {r.d_vs_ref:+.2f} "
                              f"[{r.d_ci_low:.2f}, {r.d_ci_high:.2f}]")
                lines.append(f"  {r.time!s:>8}  n {int(r.n):4d}  mean {r.mean:7.2f}  "
                             f"SD {r.sd:6.2f}  95% CI [{r.ci_low:.2f}, {r.ci_high:.2f}]{change}")
            tests = self.tests[scale]
            wa = tests.get("welch_anova")
            if wa:
                lines.append(f"  Welch ANOVA F({wa['df1']:.0f}, {wa['df2']:.1f}) = "
                             f"{wa['statistic']:.2f}, p = {wa['p']:.3g}")
            mm = self.mixed_model.get(scale)
            if mm:
                change = ", ".join(f"{k} {v['estimate']:+.2f} (SE {v['se']:.2f})"
                                   for k, v in mm["terms"].items()
                                   if k != "Intercept" and v.get("estimate") is not None)
                lines.append(f"  mixed model ({mm['formula']}): {change}; residual SD "
                             f"{mm['sigma']:.2f}, random-intercept SD {mm['sd_intercept']:.2f}")
            rc = self.reliable_change
            if not rc.empty and (rc["scale"] == scale).any():
                for to, g in rc[rc["scale"] == scale].groupby("to", sort=False):
                    counts = ", ".join(
                        f"{c.category.replace('_', ' ')} "
                        f"{'suppressed' if c.suppressed else int(c.count)}"
                        for c in g.itertuples())
                    n = g["n"].iloc[0]
                    n_text = f"n < {self.min_cell}" if n is None or n != n else f"n {int(n)}"
                    lines.append(f"  reliable change {self.reference}->{to} "
                                 f"({n_text}): {counts}")
            nm = self.norms[self.norms["scale"] == scale] if not self.norms.empty else None
            if nm is not None and len(nm):
                first = nm.iloc[0]
                zs = ", ".join(f"{r.time}: z {r.mean_z:+.2f} (pct {r.percentile_of_mean:.0f})"
                               for r in nm.itertuples())
                lines.append(f"  vs norm (mean {first.norm_mean:g}, SD {first.norm_sd:g}; "
                             f"{first.norm_group}): {zs}")
            slope = self.linear_slope.get(scale)
            if slope:
                lines.append(f"  linear slope {slope['estimate']:+.3f} per time unit "
                             f"(SE {slope['se']:.3f}, p = {slope['p']:.3g}; {slope['method']})")
        if self.notes:
            lines.append("\nNotes: " + "; ".join(self.notes))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        frame = self.to_frame().astype(object)
        stat_cols = [c for c in frame.columns if c not in ("scale", "time", "suppressed")]
        frame.loc[self.by_time["suppressed"].to_numpy(dtype=bool), stat_cols] = (
            f"suppressed, n < {self.min_cell}")
        table = frame.to_html(float_format=lambda x: f"{x:.2f}", na_rep="—", border=0,
                              index=False)
        return (f"<div class='empathy-metrics-result'><h4>{html.escape(self.title)} — "
                f"{html.escape(self.instrument.name)}</h4>{table}</div>")


# ---------------------------------------------------------------------------- helpers
def _prepare(data: pd.DataFrame, inst: Instrument, scales: list[str]
             ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Scale scores (scoring raw data when needed) and keyed items if item columns exist."""
    from .scoring import keyed_items, score

    # Keying and scoring see the reader's index, so an error names the file row.
    have_items = all(c in data.columns for c in inst.item_ids)
    keyed = keyed_items(data, inst).reset_index(drop=True) if have_items else None
    frame = data.reset_index(drop=True)
    missing = [s for s in scales if s not in frame.columns]
    if missing:
        if not have_items:
            raise InputError(
                f"the data hold neither the scale columns ({', '.join(missing)}) nor the "
                f"items of {inst.id}", hint="pass scored data or raw responses")
        scored = score(data, inst).scores
        frame = frame.copy()
        for s in missing:
            frame[s] = scored[s].to_numpy()
    return frame, keyed


def _describe(values: np.ndarray) -> dict[str, float]:
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


def _compare(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Welch difference and d/g of ``x − y``."""
    if x.size < 2 or y.size < 2:
        return {}
    w = welch_difference(x, y)
    out = {"diff": w.estimate, "diff_ci_low": w.ci[0], "diff_ci_high": w.ci[1], "diff_p": w.p}
    sx, sy = x.std(ddof=1), y.std(ddof=1)
    if sx == 0 and sy == 0:
        return out
    es = cohens_d(x.mean(), sx, x.size, y.mean(), sy, y.size)
    out.update(d=es.d, d_ci_low=es.d_ci[0], d_ci_high=es.d_ci[1], g=es.g,
               g_ci_low=es.g_ci[0], g_ci_high=es.g_ci[1])
    return out


def _numeric_time(times: list[Any]) -> tuple[dict[Any, float], str]:
    try:
        return {t: float(t) for t in times}, "time values"
    except (TypeError, ValueError):
        return {t: float(i + 1) for i, t in enumerate(times)}, "time order 1..k"


def _ols_slope(y: np.ndarray, x: np.ndarray) -> dict[str, Any] | None:
    if np.unique(x).size < 2 or y.size < 3:
        return None
    res = stats.linregress(x, y)
    df = y.size - 2
    q = stats.t.ppf(0.975, df)
    return {"estimate": float(res.slope), "se": float(res.stderr),
            "ci": [float(res.slope - q * res.stderr), float(res.slope + q * res.stderr)],
            "p": float(res.pvalue), "method": "OLS of score on time"}


def _pattern(counts: pd.DataFrame, keys: list[str], margins: list[list[str]], min_cell: int,
             force_hidden: np.ndarray | None = None) -> pd.DataFrame:
    """One suppression pattern (``keys``, ``suppressed``, ``primary_suppressed``) for a table.

    ``counts`` holds the ``keys`` and ``n`` (for several scales: the smallest n of any scale in
    the cell). Cells in ``force_hidden`` (e.g. the cells of a hidden time) are treated as
    primarily suppressed when choosing the complements.
    """
    t = counts[keys + ["n"]].reset_index(drop=True).copy()
    primary = t["n"].to_numpy(dtype=float) < min_cell
    if force_hidden is not None:
        t.loc[np.asarray(force_hidden, dtype=bool), "n"] = 0
    out = suppress(t, "n", min_cell, margins=margins, keys=keys, blank_count=False)
    out["primary_suppressed"] = primary
    return out[keys + ["suppressed", "primary_suppressed"]]


def _apply_pattern(table: pd.DataFrame, pattern: pd.DataFrame, keys: list[str],
                   count_col: str = "n") -> pd.DataFrame:
    """Blank every non-key column (and the count) of the cells ``pattern`` hides."""
    out = table.drop(columns=[c for c in ("suppressed", "primary_suppressed") if c in table])
    out = out.merge(pattern, on=keys, how="left")
    out["primary_suppressed"] = out["primary_suppressed"].fillna(True).astype(bool)
    hide = out["suppressed"].fillna(True).astype(bool).to_numpy()
    out["suppressed"] = hide
    fixed = set(keys) | {"scale", "suppressed", "primary_suppressed"}
    for col in out.columns:
        if col in fixed:
            continue
        if out[col].dtype.kind in "iub" or col == count_col:
            out[col] = out[col].astype(object)
        out.loc[hide, col] = None if out[col].dtype == object else np.nan
    return out


def _item_change_table(keyed: pd.DataFrame, tvals: np.ndarray, times: list[Any], reference: Any,
                       min_cell: int, force_hidden: Sequence[Any] = ()
                       ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, pd.Series]:
    """Item means and change from ``reference`` per time; n per time; the suppression flags."""
    means = keyed.groupby(tvals).mean().T.reindex(columns=times)
    counts = keyed.groupby(tvals).count().T.reindex(columns=times).fillna(0)
    n_resp = pd.Series([int((tvals == t).sum()) for t in times], index=times, dtype=float)
    # a time's cell size is the smallest count of any item (answered by that many at least)
    cell_n = pd.DataFrame({"time": times, "n": counts.min(axis=0).to_numpy(dtype=float)})
    force = np.array([t in set(force_hidden) for t in times])
    pat = _pattern(cell_n, ["time"], [[]], min_cell, force_hidden=force)
    hidden = pd.Series(pat["suppressed"].to_numpy(dtype=bool), index=times)
    primary = pd.Series(pat["primary_suppressed"].to_numpy(dtype=bool), index=times)
    change = means.sub(means[reference], axis=0) if not hidden[reference] else means * np.nan
    for t in times:
        if hidden[t]:
            means[t] = np.nan
            change[t] = np.nan
    means.index.name = change.index.name = "item"
    n_shown = n_resp.astype(object)
    n_shown[hidden.to_numpy()] = None
    return means, change, n_shown, hidden, primary


@dataclass
class ItemChangeResult(Result):
    """Item-level mean change (keyed item points) from a reference time; see :func:`item_change`.

    Attributes
    ----------
    means, change
        Item × time tables of keyed item means and of their change from the reference (the
        reference column is 0). Suppressed times are missing; with a suppressed reference every
        change is missing.
    n
        Respondents per time (``None`` when suppressed).
    suppressed, primary_suppressed
        Per time: hidden (small cell or its complement) / hidden for being small.
    """

    instrument: Instrument
    time: str
    times: list[Any]
    reference: Any
    min_cell: int
    means: pd.DataFrame
    change: pd.DataFrame
    n: pd.Series
    suppressed: pd.Series
    primary_suppressed: pd.Series
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Item mean change", repr=False)

    def scale_range(self) -> tuple[float, float]:
        """Possible range of one keyed item."""
        return float(self.instrument.response_min), float(self.instrument.response_max)

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for item in self.change.index:
            for t in self.times:
                rows.append({"item": item, "time": t, "n": self.n[t],
                             "mean": self.means.loc[item, t], "change": self.change.loc[item, t],
                             "suppressed": bool(self.suppressed[t])})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"instrument": self.instrument.id, "time": self.time,
                         "reference": self.reference, "min_cell": self.min_cell,
                         "items": self.to_frame(), "notes": list(self.notes)})

    def summary(self) -> str:
        wide = self.change.copy()
        wide.columns = [f"{t} (n={'suppressed' if self.suppressed[t] else int(self.n[t])})"
                        for t in self.times]
        with pd.option_context("display.max_rows", 200, "display.width", 120):
            body = wide.to_string(float_format=lambda x: f"{x:+.2f}", na_rep="—")
        return (f"{self.title} from {self.time} {self.reference} ({self.instrument.id}, keyed "
                f"item points; cells with n < {self.min_cell} suppressed)\n{body}")


def item_change(
    data: pd.DataFrame,
    instrument: Instrument | str,
    *,
    time: str,
    reference: Any = None,
    min_cell: int = DEFAULT_MIN_CELL,
    columns: Mapping[str, str] | None = None,
) -> ItemChangeResult:
    """Mean of every keyed item per time and its change from the reference time.

    Parameters
    ----------
    data
        Raw responses in long format (item columns and the ``time`` column).
    instrument
        Instrument or bundled id.
    time
        Time column; ``reference`` the time compared against (default: the first).
    min_cell
        A time where any item has fewer answers than this is suppressed (with a complement,
        so it cannot be recovered from a total).
    columns
        Optional item id -> column name map.

    Returns
    -------
    ItemChangeResult

    Notes
    -----
    Items are reverse-keyed first (:func:`empathy_metrics.scoring.keyed_items`) so that a
    negative change always means less empathy; change is the difference of the item means
    (available cases per item), in item points — the unit Colliver et al. (2010) recommend for
    judging whether a decline matters. R equivalent: ``aggregate(keyed ~ time, FUN = mean)``.
    """
    from .scoring import keyed_items

    inst = load_instrument(instrument)
    if time not in data.columns:
        raise InputError(f"time column '{time}' not found", column=time)
    if int(min_cell) < 1:
        raise InputError(f"min_cell must be a positive integer, got {min_cell}")
    frame = data[data[time].notna()].reset_index(drop=True)
    keyed = keyed_items(frame, inst, columns=columns)
    tvals = frame[time].to_numpy()
    times = sorted(pd.unique(tvals).tolist())
    if len(times) < 2:
        raise DataError(f"need at least two distinct values of '{time}', found {len(times)}")
    reference = _match_reference(reference, times, time)
    times = [reference] + [t for t in times if t != reference]
    means, change, n, hidden, primary = _item_change_table(keyed, tvals, times, reference,
                                                           int(min_cell))
    notes = []
    if hidden[reference]:
        notes.append("the reference time is suppressed: no change from it is shown")
    return ItemChangeResult(instrument=inst, time=time, times=times, reference=reference,
                            min_cell=int(min_cell), means=means, change=change, n=n,
                            suppressed=hidden, primary_suppressed=primary, notes=notes)


@dataclass
class ReliabilityByTimeResult(Result):
    """Cronbach's alpha with its CI per time and scale; see :func:`reliability_by_time`.

    ``table`` has columns scale, time, n, alpha, ci_low, ci_high, ci_method, suppressed,
    primary_suppressed (hidden times have missing n and alpha).
    """

    instrument: Instrument
    time: str
    times: list[Any]
    scales: list[str]
    min_cell: int
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Reliability by time", repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"instrument": self.instrument.id, "time": self.time,
                         "min_cell": self.min_cell,
                         "scales": {s: self.table[self.table["scale"] == s].drop(
                             columns=["scale", "primary_suppressed"]) for s in self.scales},
                         "notes": list(self.notes)})


def reliability_by_time(
    data: pd.DataFrame,
    instrument: Instrument | str,
    *,
    time: str,
    min_cell: int = DEFAULT_MIN_CELL,
    scales: Sequence[str] | None = None,
    ci: str = "feldt",
    columns: dict[str, str] | None = None,
) -> ReliabilityByTimeResult:
    """Cronbach's alpha and its CI for every scale at every time.

    Parameters
    ----------
    data
        Raw responses in long format (item columns and ``time``).
    instrument
        Instrument or bundled id.
    time
        Time column.
    min_cell
        Times with fewer complete respondents (on any scale) are suppressed, with a complement.
    scales
        Subset of scales (default all).
    ci
        CI method passed to :func:`empathy_metrics.reliability.reliability` (``"feldt"``
        default; ``"bootstrap"``/``"bca"``).
    columns
        Optional item id -> column name map.

    Returns
    -------
    ReliabilityByTimeResult

    Notes
    -----
    Each time's rows go through :func:`empathy_metrics.reliability.reliability` (listwise
    complete cases per scale, omega off), which agrees with ``psych::alpha`` (Feldt CI as in
    psych). A stable alpha across times is a necessary (not sufficient) condition for comparing
    the times' means; see :func:`empathy_metrics.cfa.invariance` for the stronger check.
    """
    from .reliability import reliability

    inst = load_instrument(instrument)
    if time not in data.columns:
        raise InputError(f"time column '{time}' not found", column=time)
    if int(min_cell) < 1:
        raise InputError(f"min_cell must be a positive integer, got {min_cell}")
    scales = list(scales) if scales is not None else list(inst.scales)
    unknown = [s for s in scales if s not in inst.scales]
    if unknown:
        raise InputError(f"unknown scale(s) {', '.join(unknown)} for {inst.id}")
    frame = data[data[time].notna()].reset_index(drop=True)
    times = sorted(pd.unique(frame[time]).tolist())
    rows = []
    for t in times:
        sub = frame[frame[time] == t]
        try:
            rel = reliability(sub, inst, ci=ci, columns=columns, omega=False)
        except (DataError, InputError) as exc:
            for s in scales:
                rows.append({"scale": s, "time": t, "n": 0, "note": str(exc)})
            continue
        for s in scales:
            r = rel[s]
            rows.append({"scale": s, "time": t, "n": int(r.n), "alpha": r.alpha,
                         "ci_low": r.alpha_ci[0], "ci_high": r.alpha_ci[1],
                         "ci_method": r.ci_method})
    table = pd.DataFrame(rows).reindex(columns=["scale", "time", "n", "alpha", "ci_low",
                                                "ci_high", "ci_method"])
    cell_n = table.groupby("time", sort=False)["n"].min().reset_index()
    pat = _pattern(cell_n, ["time"], [[]], int(min_cell))
    table = _apply_pattern(table, pat, ["time"])
    notes = []
    if table["suppressed"].any():
        notes.append(f"times with fewer than {int(min_cell)} complete respondents are "
                     "suppressed, with a complement")
    return ReliabilityByTimeResult(instrument=inst, time=time, times=times, scales=scales,
                                   min_cell=int(min_cell), table=table, notes=notes)


def _match_reference(reference: Any, times: list[Any], time: str) -> Any:
    if reference is None:
        return times[0]
    match = [t for t in times if str(t) == str(reference)]
    if not match:
        raise InputError(f"reference time {reference!r} is not a value of '{time}'",
                         hint=f"values are {', '.join(map(str, times))}")
    return match[0]


def _norm_rows(inst: Instrument, scale: str, y_by_t: Mapping[Any, np.ndarray],
               kept: list[Any]) -> list[dict[str, Any]]:
    from .norms import percentile_rank

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


# ---------------------------------------------------------------------------- distribution
_DIST_COLS = ["scale", "time", "n", "mean", "sd", "min", "min_coded", "q1", "median", "q3",
              "max", "max_coded", "mode"]
_HIST_COLS = ["scale", "time", "bin", "low", "high", "open", "label", "count"]


def score_resolution(instrument: Instrument | str, scale: str) -> float:
    """The step between possible scores of ``scale`` when every item is answered.

    1 for sum-scored scales; ``1/k`` for a scale scored as the mean of ``k`` items. (Scores of
    respondents with imputed items can fall between the steps.)
    """
    inst = load_instrument(instrument)
    if inst.method == "mean":
        return 1.0 / len(inst.scales[scale])
    return 1.0


def default_bin_width(instrument: Instrument | str, scale: str) -> float:
    """The smallest of 1, 2, 5, 10, 20, 50, … score steps giving at most 25 bins over the
    scale's possible range (e.g. 5 points for the 20–140 JSE total, 1 for a 2–14 subscale)."""
    inst = load_instrument(instrument)
    lo, hi = inst.scale_range(scale)
    res = score_resolution(inst, scale)
    mult = 1.0
    while True:
        for m in (1, 2, 5):
            width = m * mult * res
            if (hi - lo) / width + 1 <= 25 + 1e-9:
                return width
        mult *= 10


def _fmt_edge(x: float) -> str:
    return f"{x:.6g}"


def _histogram_bins(y: np.ndarray, lo: float, hi: float, width: float, min_cell: int
                    ) -> list[dict[str, Any]]:
    """Tail-coded bins of one time (before interior suppression).

    Bins are half-open ``[lo + k·w, lo + (k+1)·w)`` (the last one closed at ``hi``); the bins
    from the bottom up to the first where the running count reaches ``min_cell`` are merged
    into one open bin ``< b``, and likewise from the top (``≥ a``). When what lies between the
    two open bins is 1..min_cell−1 respondents with nothing to keep it apart, the time is one
    bin holding everyone.
    """
    k = int(np.floor((hi - lo) / width + 1e-9)) + 1
    edges = lo + width * np.arange(k + 1)
    idx = np.clip(np.floor((y - lo) / width + 1e-9).astype(int), 0, k - 1)
    counts = np.bincount(idx, minlength=k)
    n = int(counts.sum())

    def interior(a: int) -> dict[str, Any]:
        high = edges[a + 1] if a < k - 1 else hi
        closing = "]" if a == k - 1 else ")"
        return {"bin": a, "low": float(edges[a]), "high": float(high), "open": None,
                "label": f"[{_fmt_edge(edges[a])}, {_fmt_edge(high)}{closing}",
                "count": int(counts[a])}

    def whole() -> list[dict[str, Any]]:
        return [{"bin": 0, "low": float(lo), "high": float(hi), "open": "both",
                 "label": "all scores", "count": n}]

    if n < min_cell:
        return whole()
    cum = np.cumsum(counts)
    j = int(np.argmax(cum >= min_cell))
    rcum = np.cumsum(counts[::-1])[::-1]
    j2 = int(k - 1 - np.argmax(rcum[::-1] >= min_cell))
    low_bin = {"bin": 0, "low": float(lo), "high": float(edges[j + 1]), "open": "low",
               "label": f"< {_fmt_edge(edges[j + 1])}", "count": int(cum[j])}
    if j + 1 > k - 1:
        return whole()
    if j2 <= j:  # the tails overlap: two open bins if the upper part can stand alone
        rest = n - int(cum[j])
        if rest < min_cell:  # nothing (or too few) above the bottom-coded bin
            return whole()
        j2 = j + 1
    high_bin = {"bin": j2, "low": float(edges[j2]), "high": float(hi), "open": "high",
                "label": f"\u2265 {_fmt_edge(edges[j2])}", "count": int(rcum[j2])}
    return [low_bin, *(interior(a) for a in range(j + 1, j2)), high_bin]


def _protect_bins(bins: list[dict[str, Any]], min_cell: int) -> pd.DataFrame:
    """Suppress the bins of 1..min_cell−1 with complements so that none can be recovered
    from the shown bins and the time's total n (one margin: the whole time).

    Complements are interior bins when there are any (an open tail bin is known to hold at
    least ``min_cell``, which would narrow what the hidden bins can be). Zero bins are shown,
    so a reader knows each hidden bin holds at least 1 (an open bin at least ``min_cell``);
    complements are added until the hidden total exceeds the sum of those lower bounds, so
    that no hidden bin is pinned to one value (e.g. two hidden bins of 1 each).
    """
    table = pd.DataFrame(bins)
    counts = table["count"].to_numpy(dtype=float)
    nonzero = counts > 0
    out = table.copy()
    out["suppressed"] = False
    out["primary_suppressed"] = False
    if nonzero.any():
        cells = table[nonzero].reset_index(drop=True)
        cells["interior"] = cells["open"].isna()
        sub = suppress(cells, "count", min_cell, margins=[[]],
                       keys=["bin", "low", "high", "open", "label"], blank_count=False,
                       complement_first="interior")
        hide = sub["suppressed"].to_numpy(dtype=bool).copy()
        c = cells["count"].to_numpy(dtype=float)
        interior = cells["interior"].to_numpy(dtype=bool)
        lower = np.where(interior, 1.0, float(min_cell))
        while hide.any() and c[hide].sum() <= lower[hide].sum() and not hide.all():
            pool = np.flatnonzero(~hide & interior)
            pool = pool if pool.size else np.flatnonzero(~hide)
            hide[pool[np.argmin(c[pool])]] = True
        if hide.any() and c[hide].sum() <= lower[hide].sum():
            # every bin hidden and still pinned by the bounds: show the time as one bin
            n = int(c.sum())
            lo, hi = float(table["low"].min()), float(table["high"].max())
            return pd.DataFrame([{"bin": 0, "low": lo, "high": hi, "open": "both",
                                  "label": "all scores", "count": n, "suppressed": False,
                                  "primary_suppressed": False}]).astype({"count": object})
        out.loc[nonzero, "suppressed"] = hide
        out.loc[nonzero, "primary_suppressed"] = sub["primary_suppressed"].to_numpy()
    out["count"] = out["count"].astype(object)
    out.loc[out["suppressed"].to_numpy(dtype=bool), "count"] = None
    return out


def _mode(y: np.ndarray, res: float) -> tuple[float, int]:
    """Most frequent score after rounding to the scale's resolution (ties: the smallest)."""
    vals, cnt = np.unique(np.round(np.round(y / res) * res, 10), return_counts=True)
    i = int(np.argmax(cnt))  # np.unique sorts, argmax takes the first (smallest) of ties
    return float(vals[i]), int(cnt[i])


def _distribution_row(y: np.ndarray, bins: pd.DataFrame, res: float, min_cell: int
                      ) -> dict[str, Any]:
    """n, mean, SD, quartiles and the protected minimum, maximum and mode of one time."""
    d = _describe(y)
    row: dict[str, Any] = {k: d.get(k, np.nan) for k in ("n", "mean", "sd", "q1", "median",
                                                           "q3")}
    row.update(min=np.nan, min_coded=False, max=np.nan, max_coded=False, mode=np.nan)
    if y.size == 0:
        return row
    lo_v, hi_v = float(y.min()), float(y.max())
    open_low = bins[bins["open"] == "low"]
    open_high = bins[bins["open"] == "high"]
    if int((y == lo_v).sum()) >= min_cell:
        row["min"] = lo_v
    elif len(open_low):
        row.update(min=float(open_low["high"].iloc[0]), min_coded=True)
    if int((y == hi_v).sum()) >= min_cell:
        row["max"] = hi_v
    elif len(open_high):
        row.update(max=float(open_high["low"].iloc[0]), max_coded=True)
    mode, mode_n = _mode(y, res)
    if mode_n >= min_cell:
        row["mode"] = mode
    return row


@dataclass
class HistogramResult(Result):
    """Protected histograms of scores per scale and time; see :func:`score_histogram`.

    ``table`` has one row per scale, time and bin: ``bin`` (index of the first bin it covers),
    ``low``/``high`` edges, ``open`` (``"low"`` for the bottom-coded ``< b`` bin, ``"high"``
    for the top-coded ``≥ a`` bin, ``"both"`` for a single bin holding the whole time, else
    missing), ``label``, ``count`` (missing when suppressed), ``suppressed`` and
    ``primary_suppressed``. ``n`` has the respondents per scale and time (missing for a
    suppressed time).
    """

    instrument: Instrument
    time: str
    times: list[Any]
    scales: list[str]
    min_cell: int
    bin_width: dict[str, float]
    table: pd.DataFrame
    n: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Histogram of scores", repr=False)

    def scale_range(self, scale: str) -> tuple[float, float]:
        return self.instrument.scale_range(scale)

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "instrument": self.instrument.id, "time": self.time, "min_cell": self.min_cell,
            "bin_width": self.bin_width,
            "scales": {s: {"n": self.n[self.n["scale"] == s].drop(columns="scale"),
                           "bins": self.table[self.table["scale"] == s].drop(
                               columns=["scale", "primary_suppressed"])}
                       for s in self.scales},
            "notes": list(self.notes)})


def _histogram_tables(inst: Instrument, scales: Sequence[str], y_by_scale_time: Mapping[
        tuple[str, Any], np.ndarray], times: Sequence[Any], shown: Mapping[Any, bool],
        min_cell: int, bin_width: Mapping[str, float] | float | None
        ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Histogram and distribution tables of every scale and time (hidden times blank)."""
    hist_parts, dist_rows, widths = [], [], {}
    for scale in scales:
        lo, hi = inst.scale_range(scale)
        res = score_resolution(inst, scale)
        if bin_width is None:
            width = default_bin_width(inst, scale)
        elif isinstance(bin_width, Mapping):
            width = float(bin_width.get(scale, default_bin_width(inst, scale)))
        else:
            width = float(bin_width)
        if not width > 0:
            raise InputError(f"bin_width must be positive, got {width}")
        widths[scale] = width
        for t in times:
            y = y_by_scale_time[(scale, t)]
            if not shown[t]:
                hist_parts.append(pd.DataFrame([{"scale": scale, "time": t, "bin": 0,
                                                 "low": lo, "high": hi, "open": "both",
                                                 "label": "all scores", "count": None,
                                                 "suppressed": True,
                                                 "primary_suppressed": True}]))
                row = {"scale": scale, "time": t, **{c: np.nan for c in _DIST_COLS[2:]},
                       "min_coded": None, "max_coded": None}
                row["n"] = None
                dist_rows.append({**row, "suppressed": True})
                continue
            bins = _protect_bins(_histogram_bins(y, lo, hi, width, min_cell), min_cell)
            bins.insert(0, "time", t)
            bins.insert(0, "scale", scale)
            hist_parts.append(bins)
            dist_rows.append({"scale": scale, "time": t,
                              **_distribution_row(y, bins, res, min_cell), "suppressed": False})
    hist = pd.concat(hist_parts, ignore_index=True)
    hist = hist.reindex(columns=[*_HIST_COLS, "suppressed", "primary_suppressed"])
    dist = pd.DataFrame(dist_rows).reindex(columns=[*_DIST_COLS, "suppressed"])
    dist["n"] = pd.Series([None if pd.isna(v) else int(v) for v in dist["n"]], dtype=object,
                          index=dist.index)
    return hist, dist, widths


def score_histogram(
    data: pd.DataFrame | TrendResult,
    instrument: Instrument | str | None = None,
    *,
    time: str | None = None,
    scales: Sequence[str] | None = None,
    bin_width: float | Mapping[str, float] | None = None,
    min_cell: int | None = None,
) -> HistogramResult:
    """Histogram of scores per time and scale with small bins protected.

    Parameters
    ----------
    data
        A :class:`TrendResult` (its shown times' scores and suppression are used), or long
        data (scale score columns or raw items) with ``instrument`` and ``time``.
    instrument, time
        Needed with a DataFrame.
    scales
        Subset of scales (default all).
    bin_width
        Width of the bins in score points, one for all scales or per scale; default
        :func:`default_bin_width` (5 points for the JSE total).
    min_cell
        Smallest count shown (default: the result's, else 10).

    Returns
    -------
    HistogramResult

    Notes
    -----
    Algorithm: (1) times with fewer than ``min_cell`` respondents (and their complements) show
    no bin; (2) bins are half-open ``[lo + k·w, lo + (k+1)·w)`` from the scale's lowest
    possible score ``lo``; (3) top/bottom coding — the bins from the bottom up to the first
    at which the running count reaches ``min_cell`` are merged into one open bin ``< b``, and
    likewise from the top into ``≥ a`` (so the extreme scores, single respondents, are never
    shown); (4) any remaining bin of 1..min_cell−1 respondents is suppressed, with
    complementary suppression (:func:`empathy_metrics.suppression.suppress`, the time's total
    n as the margin, interior bins preferred as complements) so that no hidden bin can be
    recovered from the shown bins and n; zero bins are shown, so a reader knows a hidden bin
    holds at least 1 (an open bin at least ``min_cell``) and further complements are hidden
    until the hidden total exceeds those lower bounds (no hidden bin is pinned to one value;
    when only hiding everything would do, the time is shown as a single bin of n). R
    equivalent of the raw counts: ``table(cut(x, breaks, right = FALSE))``.

    The distribution table of :func:`trend` uses these bins: its ``min`` is the exact lowest
    score only when at least ``min_cell`` respondents share it, otherwise the upper edge ``b``
    of the bottom-coded bin (``min_coded``: "< b"); ``max`` likewise (``max_coded``: "≥ a").
    Its ``mode`` is the most frequent score after rounding to the scale's resolution
    (:func:`score_resolution`: whole points for sum scores, so imputed scores count with the
    nearest whole score), the smallest one on ties, and is shown only when at least
    ``min_cell`` respondents share it (a mode held by fewer would single out a few people).
    """
    if isinstance(data, TrendResult):
        inst = data.instrument
        mc = int(min_cell) if min_cell is not None else data.min_cell
        sc = list(scales) if scales is not None else list(data.scales)
        if mc < data.min_cell:
            raise InputError(f"min_cell {mc} is below the result's {data.min_cell}")
        sv = data.scores
        y = {(s, t): sv.loc[(sv["scale"] == s) & (sv["time"] == t), "value"].to_numpy(float)
             for s in sc for t in data.times}
        bt = data.by_time
        was_hidden = np.array([bool(bt.loc[bt["time"] == t, "suppressed"].iloc[0])
                               for t in data.times])
        # a larger min_cell than the result's may hide further times (with a complement)
        counts_t = pd.DataFrame({"time": data.times,
                                 "n": [min(y[(s, t)].size for s in sc) for t in data.times]})
        pat = _pattern(counts_t, ["time"], [[]], mc, force_hidden=was_hidden)
        shown = dict(zip(pat["time"], ~pat["suppressed"].to_numpy(dtype=bool), strict=True))
        times, time = list(data.times), data.time
    else:
        if instrument is None or time is None:
            raise InputError("score_histogram of a DataFrame needs instrument= and time=")
        inst = load_instrument(instrument)
        mc = int(min_cell) if min_cell is not None else DEFAULT_MIN_CELL
        if mc < 1:
            raise InputError(f"min_cell must be a positive integer, got {min_cell}")
        if time not in data.columns:
            raise InputError(f"time column '{time}' not found", column=time)
        sc = list(scales) if scales is not None else list(inst.scales)
        frame, _ = _prepare(data, inst, sc)
        frame = frame[frame[time].notna()]
        times = sorted(pd.unique(frame[time]).tolist())
        tv = frame[time].to_numpy()
        nonmissing = frame[sc].notna()
        counts_t = pd.DataFrame({"time": times, "n": [int(nonmissing[tv == t].sum().min())
                                                      for t in times]})
        pat = _pattern(counts_t, ["time"], [[]], mc)
        shown = dict(zip(pat["time"], ~pat["suppressed"].to_numpy(dtype=bool), strict=True))
        y = {(s, t): frame.loc[(tv == t) & frame[s].notna().to_numpy(), s].to_numpy(float)
             for s in sc for t in times}
    unknown = [s for s in sc if s not in inst.scales]
    if unknown:
        raise InputError(f"unknown scale(s) {', '.join(unknown)} for {inst.id}")
    hist, dist, widths = _histogram_tables(inst, sc, y, times, shown, mc, bin_width)
    n = dist[["scale", "time", "n", "suppressed"]].copy()
    notes = []
    if hist["primary_suppressed"].any():
        notes.append(f"bins with 1 to {mc - 1} respondents are suppressed, with complementary "
                     "suppression; the lowest and highest scores are merged into open-ended "
                     f"bins of at least {mc}")
    return HistogramResult(instrument=inst, time=time, times=times, scales=sc, min_cell=mc,
                           bin_width=widths, table=hist, n=n, notes=notes)


# ---------------------------------------------------------------------------- main entry
def trend(
    data: pd.DataFrame,
    instrument: Instrument | str,
    *,
    time: str,
    id: str | None = None,  # noqa: A002 - public keyword named in the issue
    cohort: str | None = None,
    group: str | None = None,
    reference: Any = None,
    min_cell: int = DEFAULT_MIN_CELL,
    scales: Sequence[str] | None = None,
    alpha: Mapping[str, float] | None = None,
    alpha_by_time: Mapping[Any, Mapping[str, float]] | None = None,
    group_reference: Any = None,
    cohort_reference: Any = None,
    mixed: bool = True,
    random_slope: bool = False,
) -> TrendResult:
    """Describe and test change of every scale across ``time``.

    Parameters
    ----------
    data
        Long format: one row per respondent and time, holding the scale score columns (named
        by scale id, e.g. ``total``) or the raw item columns (then scored with
        :func:`empathy_metrics.scoring.score`), and the ``time`` (and optional id, cohort,
        group) columns.
    instrument
        Instrument or bundled id.
    time
        Column with the training year or wave (ordered by sorting its values).
    id
        Respondent id column; when ids repeat the longitudinal analyses run.
    cohort, group
        Entering-cohort and grouping (e.g. gender) columns.
    reference
        The time compared against (default: the first).
    min_cell
        Cells with fewer respondents are suppressed (with complementary suppression).
    scales
        Subset of scales (default: all of the instrument's).
    alpha
        Reliability per scale for the reliable change index; default: Cronbach's alpha of the
        reference-time keyed items (needs item columns).
    alpha_by_time
        Optional time -> {scale: alpha} (kept for the report; the RCI uses the reference time's
        entry when ``alpha`` is not given).
    group_reference
        Group level the others are compared with (default: the largest group, so that the
        comparisons survive when a small group is suppressed; ties go to the first in sorted
        order).
    cohort_reference
        Entering cohort the others are compared with within each time (default: the first,
        i.e. the earliest, in sorted order).
    mixed
        Fit the mixed models when ids repeat (set ``False`` for speed).
    random_slope
        Add a random slope of (numeric) time per respondent to both mixed models,
        ``(1 + time | id)``; its SD and correlation with the intercept are reported.

    Returns
    -------
    TrendResult

    Notes
    -----
    *Cross-sectional*: mean CI is ``x̄ ± t_{.975,n−1}·s/√n``; change vs the reference is Welch's
    difference (R ``t.test``) and Cohen's d with pooled SD and noncentral-t CI, Hedges' g with
    the exact ``J(df)`` correction (R ``effectsize::cohens_d``/``hedges_g``); Welch ANOVA (R
    ``oneway.test``), Kruskal–Wallis with tie correction (R ``kruskal.test``), a linear trend
    test as the OLS slope of score on time (R ``lm``), adjacent-time Welch tests with Holm
    adjustment (R ``p.adjust``).
    *Longitudinal*: ``score ~ factor(time) + (1|id)`` and ``score ~ time + (1|id)`` by REML (R
    ``lme4::lmer``; with ``random_slope`` ``(1 + time|id)``), see
    :func:`empathy_metrics.mixed.fit_mixed`; the linear slope is reported from the latter
    (numeric time values, or their order 1..k when not numeric); paired adjacent change (R
    ``t.test(paired = TRUE)``); reliable change ``RCI = (x₂ − x₁)/S_diff``,
    ``S_diff = √2 · SD_ref · √(1 − α)`` with ``|RCI| > 1.96`` counted as reliable decline or
    improvement (Jacobson & Truax 1991). Rows with a missing score on a scale are dropped for
    that scale (available-case analysis).
    *Norms*: for scales whose norm (group ``"all"``) the instrument's YAML carries, each shown
    time's mean z ``(x̄ − μ)/σ``, the percentile rank of the mean and the median percentile rank
    (:func:`empathy_metrics.norms.percentile_rank`).

    *Privacy*: times with fewer than ``min_cell`` respondents (and their complements, see
    :func:`empathy_metrics.suppression.suppress`) are shown as suppressed and are left out of
    every test, model, paired comparison, norm and item table, so no shown number depends on
    them; with a suppressed reference time no change from it is shown. Cohort and group cells
    are suppressed the same way with the time and cohort/group totals as margins. Each
    pattern is computed once from the smallest n of any scale in the cell and applied to every
    scale.
    """
    inst = load_instrument(instrument)
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame")
    if int(min_cell) < 1:
        raise InputError(f"min_cell must be a positive integer, got {min_cell}")
    min_cell = int(min_cell)
    for role, col in (("time", time), ("id", id), ("cohort", cohort), ("group", group)):
        if col is not None and col not in data.columns:
            raise InputError(f"{role} column '{col}' not found", column=col,
                             hint=f"columns are {', '.join(map(str, data.columns[:12]))}")
    all_scales = list(inst.scales)
    scales = list(scales) if scales is not None else all_scales
    unknown = [s for s in scales if s not in all_scales]
    if unknown:
        raise InputError(f"unknown scale(s) {', '.join(unknown)} for {inst.id}",
                         hint=f"scales are {', '.join(all_scales)}")
    frame, keyed = _prepare(data, inst, scales)
    frame = frame[frame[time].notna()]
    if keyed is not None:
        keyed = keyed.loc[frame.index]
    times = sorted(pd.unique(frame[time]).tolist())
    if len(times) < 2:
        raise DataError(f"need at least two distinct values of '{time}', found {len(times)}")
    reference = _match_reference(reference, times, time)
    times = [reference] + [t for t in times if t != reference]
    notes: list[str] = []
    longitudinal = id is not None and frame[id].duplicated().any()
    if id is not None and not longitudinal:
        notes.append("ids do not repeat: longitudinal analyses skipped")
    if longitudinal:
        dup = frame[[id, time]].dropna().duplicated()
        if dup.any():
            warnings.warn(f"{int(dup.sum())} row(s) repeat an '{id}' already seen at the same "
                          f"'{time}'; paired change and reliable change use the first row of "
                          "each (check the export for duplicates)", DegenerateDataWarning,
                          stacklevel=2)
            notes.append(f"{int(dup.sum())} duplicate id × time row(s): paired analyses use "
                         "the first")
    tnum, tnum_note = _numeric_time(sorted(times))  # natural order, not reference-first

    # ------------------------------------------------ one suppression pattern for all scales
    tv = frame[time].to_numpy()
    nonmissing = frame[scales].notna()
    counts_t = pd.DataFrame({"time": times, "n": [int(nonmissing[tv == t].sum().min())
                                                  for t in times]})
    pat_time = _pattern(counts_t, ["time"], [[]], min_cell)
    shown = dict(zip(pat_time["time"], ~pat_time["suppressed"].to_numpy(dtype=bool),
                     strict=True))
    kept = [t for t in times if shown[t]]
    cell_patterns: dict[str, pd.DataFrame] = {}
    for col in (cohort, group):
        if col is None or col in cell_patterns:
            continue
        has = frame[col].notna().to_numpy()
        cnt = nonmissing[has].groupby([frame[col][has], tv[has]]).sum().min(axis=1)
        cells = pd.DataFrame({col: cnt.index.get_level_values(0),
                              "time": cnt.index.get_level_values(1), "n": cnt.to_numpy()})
        if cells.empty:
            continue
        cell_patterns[col] = _pattern(cells, [col, "time"], [["time"], [col]], min_cell,
                                      force_hidden=~cells["time"].isin(kept).to_numpy())

    by_time_rows, tests, mixed_out, slope_out = [], {}, {}, {}
    paired_rows, rc_rows, cohort_rows, group_rows, gdiff_rows = [], [], [], [], []
    norm_rows, score_rows, cdiff_rows = [], [], []
    y_all: dict[tuple[str, Any], np.ndarray] = {}
    for scale in scales:
        sub = frame[frame[scale].notna()]
        y_by_t = {t: sub.loc[sub[time] == t, scale].to_numpy(dtype=float) for t in times}
        y_all.update({(scale, t): y_by_t[t] for t in times})
        ref_y = y_by_t[reference]
        rows = []
        for t in times:
            row = {"scale": scale, "time": t, **_describe(y_by_t[t])}
            if t != reference:
                cmp = _compare(y_by_t[t], ref_y)
                row.update({("diff_vs_ref" if k == "diff" else f"{k}_vs_ref" if k in ("d", "g")
                             else k): v for k, v in cmp.items()})
            elif ref_y.size > 1:
                row.update(diff_vs_ref=0.0, d_vs_ref=0.0, g_vs_ref=0.0)
            rows.append(row)
        table = pd.DataFrame(rows).reindex(columns=["scale", "time", "n", *_BY_TIME_STATS])
        table = _apply_pattern(table, pat_time, ["time"])
        if not shown[reference]:  # a change from a hidden reference would reveal its mean
            table.loc[:, _CHANGE_COLS] = np.nan
        by_time_rows.append(table)
        # every statistic below uses only the shown times, so none can reveal a hidden one
        sub_all, sub = sub, sub[sub[time].isin(kept)]
        for t in kept:
            score_rows.append(pd.DataFrame({"scale": scale, "time": t, "value": y_by_t[t]}))
        norm_rows.extend(_norm_rows(inst, scale, y_by_t, kept))
        usable = [t for t in kept if y_by_t[t].size >= 2]
        ordered = sorted(usable)
        tst: dict[str, Any] = {}
        if len(usable) >= 2 and all(y_by_t[t].std(ddof=1) > 0 for t in usable):
            tst["welch_anova"] = welch_anova([y_by_t[t] for t in ordered])
        if len(usable) >= 2:
            kw = stats.kruskal(*[y_by_t[t] for t in ordered])
            tst["kruskal"] = {"statistic": float(kw.statistic), "df": len(ordered) - 1,
                              "p": float(kw.pvalue)}
        xs = np.concatenate([np.full(y_by_t[t].size, tnum[t]) for t in kept] + [[]])
        ys = np.concatenate([y_by_t[t] for t in kept] + [[]])
        tst["linear_trend"] = _ols_slope(ys, xs)
        adj = []
        for a, b in zip(ordered[:-1], ordered[1:], strict=True):
            w = welch_difference(y_by_t[b], y_by_t[a])
            adj.append({"from": a, "to": b, "diff": w.estimate, "ci": list(w.ci), "t": w.t,
                        "df": w.df, "p": w.p, "suppressed": False})
        for item, p_adj in zip(adj, holm([a["p"] for a in adj]), strict=True):
            item["p_holm"] = float(p_adj)
        tst["adjacent"] = adj
        tests[scale] = tst

        # ---------------------------------------------------------------- longitudinal
        mixed_out[scale] = None
        slope_out[scale] = tst["linear_trend"]
        if longitudinal and (not shown[reference] or len(kept) < 2):
            notes.append(f"{scale}: longitudinal analyses skipped (reference time suppressed "
                         "or fewer than two times shown)")
        elif longitudinal:
            ids = sub[id].to_numpy()
            tvals = sub[time].to_numpy()
            y = sub[scale].to_numpy(dtype=float)
            if mixed:
                _fit_mixed_models(scale, y, tvals, ids, kept, times, shown, tnum, tnum_note,
                                  random_slope, mixed_out, slope_out, notes)
            wide = sub.pivot_table(index=id, columns=time, values=scale, aggfunc="first")
            for a, b in zip(sorted(kept)[:-1], sorted(kept)[1:], strict=True):
                pair = wide[[a, b]].dropna() if a in wide and b in wide else pd.DataFrame()
                diff = (pair[b] - pair[a]).to_numpy(dtype=float) if len(pair) else np.array([])
                row = {"scale": scale, "from": a, "to": b, "n": diff.size}
                if diff.size >= 2:
                    lo, hi = mean_ci(diff)
                    sd = diff.std(ddof=1)
                    tt = stats.ttest_1samp(diff, 0.0) if sd > 0 else None
                    row.update(mean_change=diff.mean(), sd_change=sd, ci_low=lo, ci_high=hi,
                               dz=diff.mean() / sd if sd > 0 else np.nan,
                               p=float(tt.pvalue) if tt is not None else np.nan)
                paired_rows.append(row)
            # reliable change from the reference time
            rel = None
            if alpha is not None and scale in alpha:
                rel, rel_src = float(alpha[scale]), "given"
            elif alpha_by_time is not None and scale in alpha_by_time.get(reference, {}):
                rel, rel_src = float(alpha_by_time[reference][scale]), "given for reference"
            elif keyed is not None:
                items = keyed.loc[sub.index[sub[time] == reference], inst.scales[scale]]
                rel, rel_src = cronbach_alpha(items.to_numpy()), "Cronbach alpha at reference"
            if rel is None or not np.isfinite(rel) or not 0 < rel < 1:
                notes.append(f"{scale}: reliable change index skipped (no usable alpha)")
            else:
                s_diff = np.sqrt(2) * ref_y.std(ddof=1) * np.sqrt(1 - rel)
                for t in kept[1:]:
                    if reference not in wide or t not in wide:
                        continue
                    pair = wide[[reference, t]].dropna()
                    rci = (pair[t] - pair[reference]).to_numpy(dtype=float) / s_diff
                    base = {"scale": scale, "from": reference, "to": t, "n": rci.size,
                            "alpha": rel, "alpha_source": rel_src, "s_diff": s_diff}
                    for cat, count in (("decline", int((rci < -RCI_CRITICAL).sum())),
                                       ("no_change", int((np.abs(rci) <= RCI_CRITICAL).sum())),
                                       ("improvement", int((rci > RCI_CRITICAL).sum()))):
                        rc_rows.append({**base, "category": cat, "count": count})

        # ---------------------------------------------------------------- cohorts, groups
        for col, store in ((cohort, cohort_rows), (group, group_rows)):
            if col is None or col not in cell_patterns:
                continue
            cells = []
            for (level, t), vals in sub_all.groupby([col, time], sort=True)[scale]:
                d = _describe(vals.to_numpy(dtype=float))
                cells.append({"scale": scale, col: level, "time": t,
                              **{k: d.get(k, np.nan) for k in
                                 ("n", "mean", "sd", "ci_low", "ci_high")}})
            ct = pd.DataFrame(cells)
            if not ct.empty:
                store.append(_apply_pattern(ct, cell_patterns[col], [col, "time"]))
        for col, table_rows, ref_level, out_rows, names in (
                (group, group_rows, group_reference, gdiff_rows, ("group", "reference_group")),
                (cohort, cohort_rows, cohort_reference, cdiff_rows,
                 ("cohort", "reference_cohort"))):
            largest = col is not None and col == group
            if col is None or not table_rows or table_rows[-1]["scale"].iloc[0] != scale:
                continue
            out_rows.extend(_level_differences(sub, scale, time, col, table_rows[-1], times,
                                               ref_level, names, largest_first=largest))

    by_time = pd.concat(by_time_rows, ignore_index=True)
    histogram, distribution, _ = _histogram_tables(inst, scales, y_all, times, shown, min_cell,
                                                   None)
    if group is not None and group in cell_patterns:
        gs = cell_patterns[group]
        if gs["suppressed"].all() or (gs["primary_suppressed"].any()
                                      and gs.groupby(group)["suppressed"].all().sum() >= 2):
            notes.append(f"a '{group}' category with fewer than {min_cell} respondents forces "
                         "complementary suppression of another; merge small categories "
                         "(e.g. into 'other or not stated') to compare the rest")
    rc = pd.DataFrame(rc_rows)
    if not rc.empty:
        parts = []
        for _, g in rc.groupby("scale", sort=False):
            # a complement hides "no change" rather than the decline or improvement count
            g = g.assign(_no_change=g["category"] == "no_change")
            g = suppress(g, "count", min_cell, margins=[["to"]],
                         keys=["scale", "from", "to", "category", "n", "alpha", "alpha_source",
                               "s_diff"], complement_first="_no_change")
            g["n"] = g["n"].astype(object)
            g.loc[g["n"].astype(float) < min_cell, "n"] = None  # too few pairs to show at all
            parts.append(g)
        rc = pd.concat(parts, ignore_index=True)
    paired = pd.DataFrame(paired_rows)
    if not paired.empty:
        cnt = paired.groupby(["from", "to"], sort=False)["n"].min().reset_index()
        paired = _apply_pattern(paired, _pattern(cnt, ["from", "to"], [[]], min_cell),
                                ["from", "to"])
    items = None
    if keyed is not None:
        hidden_times = [t for t in times if not shown[t]]
        means, change, n_items, hid, prim = _item_change_table(
            keyed, frame[time].to_numpy(), times, reference, min_cell, hidden_times)
        items = ItemChangeResult(instrument=inst, time=time, times=times, reference=reference,
                                 min_cell=min_cell, means=means, change=change, n=n_items,
                                 suppressed=hid, primary_suppressed=prim)
    no_norm = [s for s in scales if not inst.norms_for(s, "all")]
    if no_norm:
        notes.append(f"no published norm in the {inst.id} definition for: {', '.join(no_norm)}")
    if any(by_time["suppressed"]):
        notes.append(f"cells with fewer than {min_cell} respondents are suppressed, with "
                     "complementary suppression so that they cannot be recovered from totals")
    if not kept:
        warnings.warn("every time point is suppressed", DegenerateDataWarning, stacklevel=2)

    def cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    return TrendResult(
        instrument=inst, time=time, times=times, reference=reference, scales=scales,
        min_cell=min_cell, by_time=by_time, tests=tests, mixed_model=mixed_out,
        linear_slope=slope_out, paired=paired, reliable_change=rc,
        cohort_trajectories=cat(cohort_rows), group_stats=cat(group_rows),
        group_differences=pd.DataFrame(gdiff_rows),
        cohort_differences=pd.DataFrame(cdiff_rows),
        item_change=items.change if items is not None else None,
        norms=pd.DataFrame(norm_rows), items=items,
        scores=cat(score_rows) if score_rows else pd.DataFrame(columns=["scale", "time", "value"]),
        distribution=distribution, histogram=histogram,
        random_slope=bool(random_slope), id=id, cohort=cohort, group=group, notes=notes,
    )


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
    rows = []
    for t in times:
        ok = table[(table["time"] == t) & ~table["suppressed"]][col].tolist()
        if ref not in ok:
            continue
        yr = sub.loc[(sub[time] == t) & (sub[col] == ref), scale].to_numpy(float)
        for lev in levels[1:]:
            if not ((table["time"] == t) & (table[col] == lev)).any():
                continue  # no such cell at this time (e.g. a cohort not yet in that year)
            row = {"scale": scale, "time": t, names[0]: lev, names[1]: ref}
            if lev in ok:
                yl = sub.loc[(sub[time] == t) & (sub[col] == lev), scale].to_numpy(float)
                row.update(_compare(yl, yr), suppressed=False)
            else:
                row["suppressed"] = True
            rows.append(row)
    return rows


def _fit_mixed_models(scale: str, y: np.ndarray, tvals: np.ndarray, ids: np.ndarray,
                      kept: list[Any], times: list[Any], shown: Mapping[Any, bool],
                      tnum: Mapping[Any, float], tnum_note: str, random_slope: bool,
                      mixed_out: dict[str, Any], slope_out: dict[str, Any],
                      notes: list[str]) -> None:
    """Fit the categorical and linear mixed models of one scale into the output dicts."""
    from .mixed import fit_mixed

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
        if not shown[t]:
            md["terms"][f"time[{t}]"] = {"estimate": None, "se": None, "ci": [None, None],
                                         "p": None, "suppressed": True}
    md["time_levels"] = list(times)
    mixed_out[scale] = md
    ls = dict(lin.terms["time"])
    ls.update(method=f"mixed model {lin.formula} ({tnum_note})", sigma=lin.sigma,
              sd_intercept=lin.sd_intercept, sd_slope=lin.sd_slope,
              converged=lin.converged)
    slope_out[scale] = ls
