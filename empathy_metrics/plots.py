"""Figures drawn from result objects (matplotlib ``Figure`` API, no pyplot global state).

Plots never compute statistics: they draw what :func:`empathy_metrics.cohorts.trend`,
:func:`~empathy_metrics.cohorts.item_change`, :func:`~empathy_metrics.cohorts.reliability_by_time`
and :mod:`empathy_metrics.efa` computed. Suppressed cells
are drawn as a grey mark labelled with why ("n < 10", or "hidden (complement)" for a cell
hidden only so that a small one cannot be worked out), never as a value; no mark encodes a
score fewer than ``min_cell`` respondents share (box-plot whiskers are protected, individual
points only by explicit opt-in). Colours are
the colour-blind-safe Okabe–Ito palette. matplotlib is imported inside each function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InputError
from .suppression import short_label, suppressed_label

if TYPE_CHECKING:
    from ._figure import Figure

__all__ = [
    "OKABE_ITO",
    "trend_plot",
    "cohort_plot",
    "distribution_plot",
    "histogram_plot",
    "item_change_heatmap",
    "scree_plot",
    "loadings_heatmap",
    "alpha_plot",
    "axis_break",
]

#: Okabe & Ito (2008) colour-blind-safe palette (black last).
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#000000"]
SUPPRESSED_COLOUR = "#999999"


def _figure(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.4,
            panels: int | None = None) -> tuple[Figure, list[Any]]:
    """A figure of ``nrows`` x ``ncols`` panels (constrained layout; titles wrap to fit); with
    ``panels`` the unused cells of the last row are removed."""
    from ._figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    if panels is not None:
        for ax in axes[panels:]:
            ax.remove()
        axes = axes[:panels]
    return fig, axes


def _title(ax: Any, label: str, **kwargs: Any) -> None:
    """``ax.set_title(label, **kwargs)`` at the fixed height ``y=1`` (plus the title's pad).

    Without ``y`` matplotlib places a title automatically: at every layout pass and every draw
    it measures the x axis (ticks on top?) and the whole y axis (an offset text above it?) of
    the panel to lift the title clear of them, about 15 % of a figure's CPU. These plots put
    neither above a panel, so the title lands where the automatic placement puts it (same
    picture, same SVG bytes; checked on the demo report's figures).
    """
    ax.set_title(label, y=1.0, **kwargs)


def _need(result: Any, attrs: Sequence[str], expected: str, func: str, made_by: str) -> None:
    """Input check at the edge: ``result`` must carry ``attrs`` (duck typing, so that
    result-like objects work), else an error naming what was expected and what was given."""
    if all(hasattr(result, a) for a in attrs):
        return
    raise InputError(f"{func}: result: expected {expected}, got {type(result).__name__}",
                     hint=f"make one with {made_by}")


_TREND = ("a TrendResult", "em.trend(data, instrument, time=...)")


def _ncols(ncols: int | None, panels: int) -> int:
    """Panels per row: as asked, else all in one row up to 3 (4 panels as 2 x 2)."""
    if ncols is None:
        return 2 if panels == 4 else max(1, min(3, panels))
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise InputError(f"ncols must be a positive whole number, got {ncols!r}")
    return int(min(ncols, panels))


def _scale_label(result: Any, scale: str) -> str:
    lo, hi = result.scale_range(scale)
    # two lines: a long scale name on one line would outgrow the axis and overlap its neighbour
    return f"{result.instrument.scale_name(scale)}\n(possible range {lo:g}–{hi:g})"


def _mark_suppressed(ax: Any, x: float, min_cell: int, kind: Any = "small",
                     label: bool = True) -> None:
    """A grey x at the foot of position ``x``, labelled with why the value is hidden:
    "n < 10" (a small cell) or "hidden (complement)" (hidden to protect a small one)."""
    ax.plot([x], [0.04], marker="x", color=SUPPRESSED_COLOUR, transform=ax.get_xaxis_transform(),
            linestyle="none", gid="suppressed")
    if label:
        ax.annotate(short_label(min_cell, kind), (x, 0.08), xycoords=("data", "axes fraction"),
                    ha="center", fontsize=7, color=SUPPRESSED_COLOUR, rotation=90,
                    va="bottom", gid="suppressed_label")


def _kind(row: Any) -> str:
    """``"small"`` or ``"complementary"`` for a suppressed row (small when unknown)."""
    from .suppression import COMPLEMENTARY, SMALL

    primary = row.get("primary_suppressed", True) if hasattr(row, "get") else True
    return SMALL if primary is None or pd.isna(primary) or bool(primary) else COMPLEMENTARY


def axis_break(ax: Any, size: float = 0.018) -> None:
    """Draw a break mark (two short slanted strokes) at the bottom of the y-axis: the axis
    does not start at the lowest possible score (the label or a note gives that range)."""
    kw = {"transform": ax.transAxes, "color": "black", "clip_on": False, "lw": 1,
          "gid": "axis_break"}
    for dy in (0.0, 0.03):
        ax.plot([-size, size], [0.02 + dy - size, 0.02 + dy + size], **kw)


def _scales(result: Any, scales: Sequence[str] | None) -> list[str]:
    scales = list(scales) if scales is not None else list(result.scales)
    bad = [s for s in scales if s not in result.scales]
    if bad:
        raise InputError(f"scale(s) {', '.join(bad)} not in the result")
    return scales


def trend_plot(result: Any, scales: Sequence[str] | None = None, *,
               ncols: int | None = None) -> Figure:
    """Mean by time with its 95 % CI band, one panel per scale, n under each point.

    Parameters
    ----------
    result
        A :class:`~empathy_metrics.cohorts.TrendResult`.
    scales
        Scales to draw (default all).
    ncols
        Panels per row (default: up to 3, four panels as 2 x 2); more scales wrap onto
        further rows.

    Returns
    -------
    matplotlib.figure.Figure
        Shows itself as the last expression of a notebook cell; save it with
        ``fig.savefig("trend.png", dpi=300)``.
    """
    _need(result, ("by_time", "times", "scales", "instrument"), *_TREND[:1], "trend_plot",
          _TREND[1])
    scales = _scales(result, scales)
    ncols = _ncols(ncols, len(scales))
    fig, axes = _figure(ncols=ncols, nrows=-(-len(scales) // ncols), panels=len(scales))
    times = list(result.times)
    order = sorted(times)
    xpos = {t: i for i, t in enumerate(order)}
    for ax, scale in zip(axes, scales, strict=True):
        t = result.by_time[result.by_time["scale"] == scale].set_index("time").loc[order]
        shown = ~t["suppressed"].to_numpy(dtype=bool)
        x = np.array([xpos[v] for v in order], dtype=float)
        mean = t["mean"].to_numpy(dtype=float)
        ax.fill_between(x[shown], t["ci_low"].to_numpy(dtype=float)[shown],
                        t["ci_high"].to_numpy(dtype=float)[shown], color=OKABE_ITO[1],
                        alpha=0.3, label="95% CI", gid="ci_band")
        ax.plot(x[shown], mean[shown], marker="o", color=OKABE_ITO[4], label="mean", gid="mean")
        for xi, (_tv, row) in zip(x, t.iterrows(), strict=True):
            if row["suppressed"]:
                _mark_suppressed(ax, xi, result.min_cell, _kind(row))
            else:
                ax.annotate(f"n={int(row['n'])}", (xi, 0.02), xycoords=("data", "axes fraction"),
                            ha="center", fontsize=8, gid="n_label")
        ax.set_xticks(x, [str(v) for v in order])
        ax.set_xlim(-0.5, len(order) - 0.5)
        ax.set_xlabel(result.time)
        ax.set_ylabel(_scale_label(result, scale))
        _title(ax, result.instrument.scale_name(scale))
        lo, hi = result.scale_range(scale)
        if shown.any():
            pad = 0.1 * (np.nanmax(t["ci_high"][shown]) - np.nanmin(t["ci_low"][shown]) + 1)
            ax.set_ylim(max(lo, np.nanmin(t["ci_low"][shown]) - 3 * pad),
                        min(hi, np.nanmax(t["ci_high"][shown]) + pad))
            if ax.get_ylim()[0] > lo:
                axis_break(ax)  # zoomed: say so on the axis (the label gives the range)
        else:
            ax.set_ylim(lo, hi)
    fig.suptitle(f"{result.instrument.name}: mean by {result.time} (95% CI)")
    return fig


def cohort_plot(result: Any, scale: str = "total") -> Figure:
    """Each entering cohort's mean (with 95 % CI bars) by time; suppressed cells marked."""
    _need(result, ("cohort_trajectories", "times", "scales"), _TREND[0], "cohort_plot",
          _TREND[1])
    frame = result.cohort_trajectories
    if frame is None or frame.empty or result.cohort is None:
        raise InputError("the result has no cohort trajectories (run trend with cohort=...)")
    _scales(result, [scale])
    fig, (ax,) = _figure(width=6, height=4)
    sub = frame[frame["scale"] == scale]
    order = sorted(result.times)
    xpos = {t: i for i, t in enumerate(order)}
    hidden: dict[int, set[str]] = {}  # time position -> kinds hidden there
    groups = list(sub.groupby(result.cohort, sort=True))
    for k, (cohort, g) in enumerate(groups):
        colour = OKABE_ITO[k % len(OKABE_ITO)]
        g = g.sort_values("time")
        ok = ~g["suppressed"].to_numpy(dtype=bool)
        pos = np.array([xpos[t] for t in g["time"]])
        x = pos + (k - (len(groups) - 1) / 2) * 0.05
        m = g["mean"].to_numpy(dtype=float)
        err = np.vstack([m - g["ci_low"].to_numpy(dtype=float),
                         g["ci_high"].to_numpy(dtype=float) - m])
        total_n = int(np.nansum(g["n"].to_numpy(dtype=float)[ok]))
        m_drawn = np.where(ok, m, np.nan)  # a gap, not a line, across suppressed cells
        err[:, ~ok] = np.nan
        shown = f"{cohort} (n={total_n} responses)" if ok.any() else f"{cohort} (all hidden)"
        ax.errorbar(x, m_drawn, yerr=err, marker="o", color=colour, capsize=3, label=shown)
        for (_, row), xi, p in zip(g.iterrows(), x, pos, strict=True):
            if row["suppressed"]:
                _mark_suppressed(ax, xi, result.min_cell, label=False)
                hidden.setdefault(int(p), set()).add(_kind(row))
    for p, kinds in hidden.items():  # one label per time, never one per cohort on top
        text = " / ".join(short_label(result.min_cell, kd) for kd in sorted(kinds, reverse=True))
        ax.annotate(text, (p, 0.08), xycoords=("data", "axes fraction"), ha="center",
                    fontsize=7, color=SUPPRESSED_COLOUR, rotation=90, va="bottom",
                    gid="suppressed_label")
    ax.set_xticks(range(len(order)), [str(t) for t in order])
    ax.set_xlim(-0.5, len(order) - 0.5)
    ax.set_xlabel(result.time)
    ax.set_ylabel(_scale_label(result, scale))
    if ax.get_ylim()[0] > result.scale_range(scale)[0]:
        axis_break(ax)
    _title(ax, f"{result.instrument.scale_name(scale)} by entering cohort")
    ax.legend(title=result.cohort, fontsize=8)
    return fig


def distribution_plot(result: Any, scale: str = "total", points: bool = False,
                      seed: int = 0) -> Figure:
    """Box plots by time: quartiles, mean, and whiskers that show no single student's score.

    The box spans the quartiles with the median as a line and the mean as a triangle. The
    whiskers reach the mean of the ``min_cell`` lowest and of the ``min_cell`` highest scores
    (:func:`~empathy_metrics.suppression.protected_whiskers`), never an individual score;
    outliers are not drawn. Suppressed times are marked, not drawn.

    Parameters
    ----------
    result
        A :class:`~empathy_metrics.cohorts.TrendResult`.
    scale
        Scale to draw.
    points
        Opt-in, for the analyst's own eyes only: also draw every individual score of the
        shown times (``result.scores``) as jittered points, and say so in the title. Such a
        figure shows single students' scores and must not be circulated; the report never
        draws them.
    seed
        Seed of the horizontal jitter (the drawing is reproducible).
    """
    _need(result, ("by_time", "scores", "times"), _TREND[0], "distribution_plot",
          _TREND[1])
    _scales(result, [scale])
    order = sorted(result.times)
    t = result.by_time[result.by_time["scale"] == scale].set_index("time").loc[order]
    fig, (ax,) = _figure(width=6, height=4)
    stats_, positions = [], []
    scores = getattr(result, "scores", None)
    rng = np.random.default_rng(seed)
    for i, (tv, row) in enumerate(t.iterrows()):
        if row["suppressed"]:
            _mark_suppressed(ax, i, result.min_cell, _kind(row))
            continue
        lo_w, hi_w = row.get("whisker_low"), row.get("whisker_high")
        stats_.append({"med": row["median"], "q1": row["q1"], "q3": row["q3"],
                       "whislo": row["q1"] if pd.isna(lo_w) else lo_w,
                       "whishi": row["q3"] if pd.isna(hi_w) else hi_w,
                       "mean": row["mean"], "fliers": [], "label": str(tv)})
        positions.append(i)
        ax.annotate(f"n={int(row['n'])}", (i, 0.02), xycoords=("data", "axes fraction"),
                    ha="center", fontsize=8, gid="n_label")
        if points and scores is not None and not scores.empty:
            y = scores.loc[(scores["scale"] == scale) & (scores["time"] == tv),
                           "value"].to_numpy(dtype=float)
            ax.scatter(i + rng.uniform(-0.18, 0.18, y.size), y, s=6, color=OKABE_ITO[7],
                       alpha=0.35, linewidths=0, zorder=3, gid="points")
    if stats_:
        ax.bxp(stats_, positions=positions, showmeans=True, patch_artist=True,
               boxprops={"facecolor": OKABE_ITO[1], "alpha": 0.6},
               medianprops={"color": OKABE_ITO[5]})
    lo, hi = result.scale_range(scale)
    ax.set_xticks(range(len(order)), [str(v) for v in order])
    ax.set_xlim(-0.5, len(order) - 0.5)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(result.time)
    ax.set_ylabel(_scale_label(result, scale))
    title = f"{result.instrument.scale_name(scale)}: distribution by {result.time}"
    if points:
        title += "\nwith individual scores: not for circulation"
    _title(ax, title)
    return fig


def histogram_plot(result: Any, scale: str = "total") -> Figure:
    """Histogram of scores by time, one small panel per time on a shared score axis.

    Draws the protected bins :func:`~empathy_metrics.cohorts.trend` (``result.histogram``) or
    :func:`~empathy_metrics.cohorts.score_histogram` (``result.table``) computed: the
    bottom- and top-coded open bins (``< b``, ``≥ a``) are hatched one-bin-wide bars at the
    tail edge, labelled with their range; suppressed bins are a grey ``x`` at the foot of the
    bin; a suppressed time is a panel holding only the suppression label.

    Parameters
    ----------
    result
        A :class:`~empathy_metrics.cohorts.TrendResult` or
        :class:`~empathy_metrics.cohorts.HistogramResult`.
    scale
        Scale to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not hasattr(result, "histogram"):
        _need(result, ("table", "times", "scales"), "a TrendResult or a HistogramResult",
              "histogram_plot", "em.trend(...) or empathy_metrics.cohorts.score_histogram(...)")
    _scales(result, [scale])
    table = getattr(result, "histogram", None)
    if table is None:
        table = getattr(result, "table", None)
    if table is None or table.empty:
        raise InputError("the result has no histogram")
    sub = table[table["scale"] == scale]
    order = sorted(result.times)
    lo, hi = result.scale_range(scale)
    fig, axes = _figure(ncols=1, nrows=len(order), width=6.5, height=1.55)
    fig.set_figheight(1.55 * len(order) + 0.9)
    widths = (sub["high"] - sub["low"])[sub["open"].isna()]
    width = float(widths.min()) if len(widths) else (hi - lo) / 24
    ymax = float(pd.to_numeric(sub["count"], errors="coerce").max())
    ymax = ymax if np.isfinite(ymax) and ymax > 0 else 1.0
    n_table = getattr(result, "n", None)
    if not isinstance(n_table, pd.DataFrame):
        n_table = result.by_time
    n_sub = n_table[(n_table["scale"] == scale) & ~n_table["suppressed"].astype(bool)]
    n_of = dict(zip(n_sub["time"], n_sub["n"], strict=True))
    hidden_rows = n_table[(n_table["scale"] == scale) & n_table["suppressed"].astype(bool)]
    kind_of = {r["time"]: _kind(r) for _, r in hidden_rows.iterrows()}
    for k, (ax, t) in enumerate(zip(axes, order, strict=True)):
        bins = sub[sub["time"] == t]
        hidden_time = bins.empty or (bins["suppressed"].all() and (bins["open"] == "both").all())
        ax.set_xlim(lo, hi + (width if width < hi - lo else 0))
        ax.set_ylim(0, ymax * 1.3)
        if hidden_time:
            ax.text(0.5, 0.5, suppressed_label(result.min_cell, kind_of.get(t, "small")),
                    transform=ax.transAxes,
                    ha="center", va="center", color=SUPPRESSED_COLOUR, fontsize=9,
                    gid="suppressed")
            _title(ax, f"{result.time} {t}: suppressed", fontsize=9, loc="left")
        else:
            colour = OKABE_ITO[4]
            for r in bins.itertuples(index=False):
                if r.open == "low":
                    x0, w, hatch = r.high - width, width, "//"
                elif r.open == "high":
                    x0, w, hatch = r.low, width, "//"
                elif r.open == "both":
                    x0, w, hatch = lo, hi - lo, "//"
                else:
                    x0, w, hatch = r.low, r.high - r.low, None
                if r.suppressed:
                    ax.plot([x0 + w / 2], [0.06], marker="x", color=SUPPRESSED_COLOUR,
                            transform=ax.get_xaxis_transform(), linestyle="none",
                            gid="suppressed")
                    continue
                count = float(r.count)
                ax.bar(x0, count, width=w, align="edge", color=colour, alpha=0.75 if hatch
                       else 1.0, hatch=hatch, edgecolor="white" if not hatch else "#333333",
                       linewidth=0.5, gid="open_bin" if hatch else "bin")
                if hatch:
                    ax.annotate(r.label, (x0 + w / 2, count), xytext=(0, 2),
                                textcoords="offset points", ha="center", va="bottom",
                                fontsize=7, gid="open_label")
            n = n_of.get(t)
            n_text = f" (n={int(n)})" if n is not None and not pd.isna(n) else ""
            _title(ax, f"{result.time} {t}{n_text}", fontsize=9, loc="left")
        ax.set_ylabel("respondents", fontsize=8)
        ax.tick_params(labelsize=8)
        if k < len(order) - 1:
            ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel(_scale_label(result, scale).replace("\n", " "))
    fig.suptitle(f"{result.instrument.scale_name(scale)}: histogram of scores by {result.time}"
                 f"\nbins of {width:g} points; hatched = open-ended tail bin (< b, \u2265 a); "
                 f"x = hidden bin (n < {result.min_cell}, or hidden so that a small bin "
                 "cannot be worked out)", fontsize=9)
    return fig


def item_change_heatmap(result: Any) -> Figure:
    """Heatmap of item mean change (keyed points) from the reference time; hidden times grey.

    Parameters
    ----------
    result
        An :class:`~empathy_metrics.cohorts.ItemChangeResult` (from
        :func:`~empathy_metrics.cohorts.item_change`) or a
        :class:`~empathy_metrics.cohorts.TrendResult` computed from raw items (its ``items``).
    """
    if not hasattr(result, "change"):
        _need(result, ("items", "by_time"), "an ItemChangeResult or a TrendResult",
              "item_change_heatmap", "em.item_change(data, instrument, time=...)")
    items = result if hasattr(result, "change") else getattr(result, "items", None)
    if items is None:
        raise InputError("the result has no item-level change (trend needs the item columns)")
    change = items.change
    fig, (ax,) = _figure(width=5.5, height=max(3.0, 0.25 * len(change) + 1.2))
    values = change.to_numpy(dtype=float)
    bound = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    bound = bound or 1.0
    masked = np.ma.masked_invalid(values)
    from matplotlib import colormaps

    cmap = colormaps["PuOr"].with_extremes(bad=SUPPRESSED_COLOUR)
    im = ax.imshow(masked, cmap=cmap, vmin=-bound, vmax=bound, aspect="auto")
    labels = []
    for j, t in enumerate(change.columns):
        if bool(items.suppressed[t]):
            prim = getattr(items, "primary_suppressed", None)
            kind = "small" if prim is None or bool(prim.get(t, True)) else "complementary"
            ax.text(j, (len(change) - 1) / 2, suppressed_label(items.min_cell, kind),
                    rotation=90, ha="center", va="center", fontsize=7, gid="suppressed")
            labels.append(f"{t}\n(hidden)")
        else:
            labels.append(f"{t}\n(n={int(items.n[t])})")
    ax.set_xticks(range(change.shape[1]), labels)
    ax.set_yticks(range(len(change)), list(change.index))
    ax.set_xlabel(items.time)
    _title(ax, f"Item mean change from {items.time} {items.reference}")
    lo, hi = items.scale_range()
    fig.colorbar(im, ax=ax, label=f"change in item points (items {lo:g}–{hi:g}, keyed)")
    return fig


def scree_plot(efa_result: Any) -> Figure:
    """Observed eigenvalues with the parallel-analysis (simulated) line.

    Draws ``efa_result.parallel.observed_fa`` / ``simulated_fa`` (or the ``_pc`` pair when the
    factor-analysis ones are missing) and marks ``parallel.n_factors``.
    """
    _need(efa_result, ("parallel",), "an EFAResult", "scree_plot", "em.efa(data, instrument)")
    pa = getattr(efa_result, "parallel", None)
    if pa is None:
        raise InputError("the EFA result has no parallel analysis")
    from matplotlib.ticker import MaxNLocator

    fig, (ax,) = _figure(width=5.5, height=4)
    drawn = False
    for kind, colour in (("pc", OKABE_ITO[4]), ("fa", OKABE_ITO[5])):
        obs = getattr(pa, f"observed_{kind}", None)
        sim = getattr(pa, f"simulated_{kind}", None)
        if obs is None or sim is None:
            continue
        obs, sim = np.asarray(obs, dtype=float), np.asarray(sim, dtype=float)
        x = np.arange(1, obs.size + 1)
        ax.plot(x, obs, marker="o", color=colour, label=f"observed ({kind.upper()})")
        ax.plot(x[: sim.size], sim, linestyle="--", color=colour,
                label=f"parallel analysis ({kind.upper()})", gid=f"parallel_{kind}")
        drawn = True
    if not drawn:
        raise InputError("the parallel analysis has no eigenvalues to draw")
    ax.axhline(1.0, color=SUPPRESSED_COLOUR, linewidth=0.8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # whole factors
    n_factors = getattr(pa, "n_factors", None)
    n = getattr(efa_result, "n", None)
    ax.set_xlabel("factor / component number")
    ax.set_ylabel("eigenvalue")
    _title(ax, "Scree plot with parallel analysis"
                 + (f" (suggests {n_factors} factors)" if n_factors is not None else "")
                 + (f", n={int(n)}" if n is not None else ""))
    ax.legend(fontsize=8)
    return fig


def loadings_heatmap(efa_result: Any) -> Figure:
    """Heatmap of the items × factors loading matrix with values printed in each cell."""
    _need(efa_result, ("loadings", "parallel"), "an EFAResult", "loadings_heatmap",
          "em.efa(data, instrument)")
    loadings = getattr(efa_result, "loadings", None)
    if not isinstance(loadings, pd.DataFrame):
        raise InputError("the EFA result has no loadings table")
    values = loadings.to_numpy(dtype=float)
    fig, (ax,) = _figure(width=1.2 * loadings.shape[1] + 3, height=0.3 * len(loadings) + 1.5)
    im = ax.imshow(values, cmap="PuOr", vmin=-1, vmax=1, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            # inside its cell, so the layout need not measure it (60 texts for 20 x 3)
            ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    in_layout=False)
    ax.set_xticks(range(loadings.shape[1]), [str(c) for c in loadings.columns])
    ax.set_yticks(range(len(loadings)), [str(i) for i in loadings.index])
    n = getattr(efa_result, "n", None)
    _title(ax, "Factor loadings" + (f" (n={int(n)})" if n is not None else ""))
    fig.colorbar(im, ax=ax, label="loading (−1 to 1)")
    return fig


def alpha_plot(by_time: Any, scale: str | None = None, min_cell: int = 10) -> Figure:
    """Cronbach's alpha with its CI per time, n under each point, suppressed times marked.

    Parameters
    ----------
    by_time
        A :class:`~empathy_metrics.cohorts.ReliabilityByTimeResult` (from
        :func:`~empathy_metrics.cohorts.reliability_by_time`; ``scale`` defaults to
        ``"total"``), or a mapping time -> a reliability result with ``alpha`` and ``alpha_ci``
        (for one scale) or a mapping scale -> such result (then ``scale`` picks it); ``None``
        marks a suppressed time.
    scale
        Scale to draw.
    min_cell
        Threshold shown in the suppression label (taken from the result when it has one).
    """
    points: list[tuple[Any, float | None, float, float, Any]] = []  # time, alpha, lo, hi, n
    kinds: dict[Any, str] = {}  # hidden time -> why
    if hasattr(by_time, "table"):
        scale = scale or "total"
        if scale not in by_time.scales:
            raise InputError(f"scale {scale!r} not in the result")
        min_cell = by_time.min_cell
        tab = by_time.table[by_time.table["scale"] == scale]
        for r in tab.itertuples():
            if r.suppressed or r.alpha is None or pd.isna(r.alpha):
                kinds[r.time] = _kind(r._asdict())
                points.append((r.time, None, np.nan, np.nan, None))
            else:
                points.append((r.time, float(r.alpha), float(r.ci_low), float(r.ci_high), r.n))
    else:
        if not isinstance(by_time, Mapping):
            raise InputError(f"alpha_plot: by_time: expected a ReliabilityByTimeResult or a "
                             f"mapping time -> reliability, got {type(by_time).__name__}",
                             hint="make one with em.reliability_by(data, instrument, by=...)")
        if not by_time:
            raise InputError("no reliability results to draw")
        for t in by_time:
            res = by_time[t]
            if isinstance(res, Mapping):
                res = res.get(scale) if scale is not None else None
            if res is None:
                points.append((t, None, np.nan, np.nan, None))
            else:
                lo, hi = (float(v) for v in res.alpha_ci)
                points.append((t, float(res.alpha), lo, hi, getattr(res, "n", None)))
    if not points:
        raise InputError("no reliability results to draw")
    points.sort(key=lambda p: p[0])
    fig, (ax,) = _figure(width=5.5, height=4)
    for i, (t, a, lo, hi, n) in enumerate(points):
        if a is None:
            _mark_suppressed(ax, i, min_cell, kinds.get(t, "small"))
            continue
        ax.errorbar([i], [a], yerr=[[a - lo], [hi - a]], marker="o", color=OKABE_ITO[4],
                    capsize=4)
        if n is not None:
            ax.annotate(f"n={int(n)}", (i, 0.02), xycoords=("data", "axes fraction"),
                        ha="center", fontsize=8, gid="n_label")
    ax.set_xticks(range(len(points)), [str(p[0]) for p in points])
    ax.set_xlim(-0.5, len(points) - 0.5)
    ax.set_ylim(0, 1)
    ax.set_xlabel(getattr(by_time, "time", "time"))
    ax.set_ylabel("Cronbach's alpha (0–1), 95% CI")
    _title(ax, "Reliability by time" + (f": {scale}" if scale else ""))
    return fig
