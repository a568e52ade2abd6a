"""Scores by time (and cohort and group): means, distribution, histogram, trend figures."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ...suppression import complement_note
from .._context import Context
from .._tables import Column, Section, Table, fmt_num
from . import SectionSpec


def _coded(value: Any, coded: Any, sign: str) -> str:
    """A minimum/maximum, or its bottom-/top-coded bound (``< 95``, ``≥ 135``)."""
    text = _score_text(value)
    return f"{sign} {text}" if text != "—" and not pd.isna(coded) and bool(coded) else text


def _score_text(value: Any) -> str:
    """A score: whole points without decimals, others with two."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return fmt_num(value)
    return fmt_num(v, 0 if np.isfinite(v) and v == round(v) else 2)


_BY_TIME_COLS = ["scale", "time", "n", "mean", "sd", "se", "ci_low", "ci_high", "median", "q1",
                 "q3", "iqr", "suppressed", "primary_suppressed"]


def _scores(ctx: Context, section: Section) -> None:
    from ... import plots

    tr, time = ctx.tr, ctx.tw
    main = ctx.main
    lo, hi = ctx.inst.scale_range(main)
    section.para(
        f"Mean scores with 95% confidence intervals by {time}, for the "
        f"{ctx.name(main).lower()} ({lo:g}–{hi:g}) and each other scale. Higher scores mean "
        "more empathy.")
    by_time = ctx.with_names(tr.by_time[_BY_TIME_COLS])
    section.add(Table(
        "scores_by_time", f"Scores by {time}", by_time,
        [Column.text("scale_name", "Scale"), ctx.vcol("time", ctx.time),
         Column.int("n", "n"), Column.num("mean", "Mean"), Column.num("sd", "SD"),
         Column.ci("ci_low", "ci_high"), Column.num("median", "Median", 1),
         Column.num("iqr", "IQR", 1)], min_cell=ctx.min_cell))
    ctx.fig(section, "Trend plot", partial(plots.trend_plot, tr, [main]), "trend_total",
            f"Mean {ctx.name(main).lower()} score by {time} with its 95% confidence band; "
            "n under each point.",
            f"Line chart of the mean {ctx.name(main).lower()} score by {time}")
    subs = [s for s in tr.scales if s != main]
    if subs:
        ctx.fig(section, "Subscale trend plot", partial(plots.trend_plot, tr, subs),
                "trend_subscales", f"Subscale means by {time} (95% confidence bands).",
                f"Line charts of the subscale means by {time}")
    ctx.fig(section, "Distribution plot",
            partial(plots.distribution_plot, tr, main, points=False),
            "distribution_total",
            f"Distribution of the {ctx.name(main).lower()} score by {time}: box = quartiles, "
            f"line = median, triangle = mean; whiskers reach the mean of the {ctx.min_cell} "
            f"lowest and of the {ctx.min_cell} highest scores, so that no single student's "
            "score is drawn (no outliers are shown).",
            f"Box plots of the {ctx.name(main).lower()} score by {time}")
    dist = getattr(tr, "distribution", None)
    if dist is not None and not dist.empty:
        section.add(Table(
            "score_distribution", f"Distribution of scores by {time}", ctx.with_names(dist),
            [Column.text("scale_name", "Scale"), ctx.vcol("time", ctx.time),
             Column.int("n", "n"), Column.num("mean", "Mean"), Column.num("sd", "SD"),
             Column("Min", lambda r: _coded(r.get("min"), r.get("min_coded"), "<")),
             Column.num("q1", "25th pct", 1), Column.num("median", "Median", 1),
             Column.num("q3", "75th pct", 1),
             Column("Max", lambda r: _coded(r.get("max"), r.get("max_coded"), "\u2265")),
             Column("Mode", lambda r: _score_text(r.get("mode")))],
            min_cell=ctx.min_cell,
            note=(f"Min and max are shown exactly only when at least {ctx.min_cell} "
                  "respondents share the score; otherwise as the bound of the open-ended "
                  "lowest (< b) or highest (\u2265 a) histogram bin (in the CSV: min_coded / "
                  "max_coded). Mode: the most frequent whole score (smallest on ties), shown "
                  f"only when at least {ctx.min_cell} respondents share it.")))
    hist = getattr(tr, "histogram", None)
    if hist is not None and not hist.empty:
        ctx.fig(section, "Histogram", partial(plots.histogram_plot, tr, main),
                "histogram_total",
                f"Histogram of the {ctx.name(main).lower()} score by {time}. The lowest and "
                f"highest scores are merged into open-ended bins of at least {ctx.min_cell} "
                f"respondents (hatched); bins with fewer than {ctx.min_cell} respondents, and "
                "the bins hidden so that they cannot be worked out from n, are marked x.",
                f"Histograms of the {ctx.name(main).lower()} score, one panel per {time}")
    if ctx.cohort is not None and not tr.cohort_trajectories.empty:
        section.heading(f"By entering {ctx.cw}")
        ct = tr.cohort_trajectories
        ct = ctx.with_names(ct[ct["scale"] == main])
        section.add(Table(
            "cohort_trajectories", f"{ctx.name(main)} score by {ctx.cw} and {time}",
            ctx.with_names(tr.cohort_trajectories),
            [ctx.vcol(ctx.cohort, ctx.cohort),
             ctx.vcol("time", ctx.time), Column.int("n", "n"),
             Column.num("mean", "Mean"), Column.num("sd", "SD"),
             Column.ci("ci_low", "ci_high")],
            keys=(ctx.cohort,), min_cell=ctx.min_cell, display=ct,
            note=ctx.main_only_note))
        why = complement_note(ct, ctx.cohort, time=time, min_cell=ctx.min_cell,
                              foldable=False)  # entering cohorts are not folded
        if why:
            section.para(why)
        ctx.fig(section, "Cohort plot", partial(plots.cohort_plot, tr, main), "cohorts",
                f"Each entering {ctx.cw}'s mean {ctx.name(main).lower()} score by {time} "
                "(95% CI).",
                f"Line chart of the mean {ctx.name(main).lower()} score of each {ctx.cw}")
    if ctx.group is not None and not tr.group_stats.empty:
        section.heading(f"By {ctx.gw}")
        gs = tr.group_stats
        table = Table(
            "group_stats", f"{ctx.name(main)} score by {ctx.gw} and {time}",
            ctx.with_names(gs),
            [ctx.vcol(ctx.group, ctx.group),
             ctx.vcol("time", ctx.time), Column.int("n", "n"),
             Column.num("mean", "Mean"), Column.num("sd", "SD"),
             Column.ci("ci_low", "ci_high")],
            keys=(ctx.group,), min_cell=ctx.min_cell,
            display=ctx.with_names(gs[gs["scale"] == main]),
            note=ctx.main_only_note)
        section.add(table)
        why = complement_note(gs[gs["scale"] == main], ctx.group, time=time,
                              min_cell=ctx.min_cell)
        if why:  # a small group hides large ones: say which, and the way out
            section.para(why)


def _title(ctx: Context) -> str:
    return f"Scores by {ctx.tw}" + (f" and {ctx.cw}" if ctx.cohort else "")


SECTION = SectionSpec("scores", 30, _title, _scores)
