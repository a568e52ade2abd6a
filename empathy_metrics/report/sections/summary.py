"""Page one, the executive summary: one sentence, one chart, three numbers, what can be concluded.

The headline is the newest class: with an entering-class column, the newest class at its latest
shown time; without one, the students at the first time (in a one-year export, the newest
entrants). The trend is the mean of everyone who answered at each time; the change is the one
from the first to the last shown time, worded as a change of the same students only when it
comes from a mixed model that follows them (in a cohort-sequential design the model that also
holds the entering cohorts apart, so that the change is the year-of-training effect within
students), and otherwise as a gap between different students; its size word ("a small
change") comes from the same estimate as the number. Every number shown is one the other
sections show (same suppression); uncertainty is put in words ("likely between 113 and
118") beside the 95% interval it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from .._context import Context
from .._models import model_d
from .._tables import Section, fmt_num
from .._words import effect_word
from . import SectionSpec


@dataclass
class _Point:
    """A mean with its interval, and who it describes."""

    who: str
    mean: float
    low: float
    high: float
    n: int
    time: Any
    cohort: Any = None


def _num(x: float, digits: int = 1) -> str:
    return fmt_num(x, digits)


def _likely(low: float, high: float, digits: int = 1, unit: str = "") -> str:
    return f"likely between {_num(low, digits)}{unit} and {_num(high, digits)}{unit}"


def _newest(ctx: Context) -> _Point | None:
    """The newest class's mean: the newest entering class at its latest shown time."""
    main = ctx.main
    ct = ctx.tr.cohort_trajectories
    if ctx.cohort is not None and ct is not None and not ct.empty:
        mine = ct[(ct["scale"] == main) & ~ct["suppressed"].astype(bool)]
        mine = mine[pd.to_numeric(mine["mean"], errors="coerce").notna()]
        if not mine.empty:
            newest = max(mine[ctx.cohort])
            r = mine[mine[ctx.cohort] == newest].sort_values("time").iloc[-1]
            return _Point(f"The newest class ({ctx.cw} {ctx.show(ctx.cohort, newest)})",
                          float(r["mean"]), float(r["ci_low"]), float(r["ci_high"]),
                          int(r["n"]), r["time"], newest)
    bt = ctx.tr.by_time
    first = [t for t in ctx.times if ctx.shown.get((main, t), False)]
    if not first:
        return None
    r = bt[(bt["scale"] == main) & (bt["time"] == first[0])].iloc[0]
    return _Point(f"Students in {ctx.when(first[0])}", float(r["mean"]), float(r["ci_low"]),
                  float(r["ci_high"]), int(r["n"]), first[0])


@dataclass
class _Change:
    """The change from the first to the last shown time, and its size in SD units from the
    same estimate (Cohen's d of the two times' respondents, or the model's effect over its
    SD, :func:`~empathy_metrics.report._models.model_d`)."""

    first: Any
    last: Any
    diff: float
    low: float
    high: float
    d: float | None
    same_students: bool
    n_students: int | None
    model: str | None = None  # "mixed model" / "cohort-sequential model"; None: respondents


def _model_change(ctx: Context, model: dict[str, Any] | None, ref: Any, last: Any,
                  name: str) -> _Change | None:
    """The ``time[last]`` effect of a mixed model as the change, or None."""
    if not model or not ctx.longitudinal:
        return None
    if model.get("time_reference", ref) != ref:
        return None
    term = model["terms"].get(f"time[{last}]")
    if not term or term.get("estimate") is None or term.get("suppressed"):
        return None
    est = float(term["estimate"])
    return _Change(ref, last, est, float(term["ci"][0]), float(term["ci"][1]),
                   model_d(est, model), True, int(model["n_groups"]), name)


def _change(ctx: Context) -> _Change | None:
    """First -> last shown time: in a cohort-sequential design the year-of-training effect of
    the model with entering cohorts (same students, cohort differences held apart), else the
    mixed model's time effect when ids repeat, else the respondents' difference."""
    main = ctx.main
    shown = [t for t in ctx.times if ctx.shown.get((main, t), False)]
    ref = ctx.tr.reference
    if len(shown) < 2 or ref not in shown:
        return None
    last = shown[-1] if shown[-1] != ref else shown[0]
    if last == ref:
        return None
    mt = ctx.mixed_tr
    for model, name in ((ctx.results.get("attrition"), "cohort-sequential model"),
                        (mt.mixed_model.get(main) if mt is not None else None, "mixed model")):
        found = _model_change(ctx, model, ref, last, name)
        if found is not None:
            return found
    bt = ctx.tr.by_time
    row = bt[(bt["scale"] == main) & (bt["time"] == last)].iloc[0]
    if not np.isfinite(float(row["diff_vs_ref"])):
        return None
    d = float(row["d_vs_ref"]) if pd.notna(row["d_vs_ref"]) else None
    return _Change(ref, last, float(row["diff_vs_ref"]), float(row["diff_ci_low"]),
                   float(row["diff_ci_high"]), d, False, None)


def _norm(ctx: Context) -> Any:
    """The instrument's norm for everyone ("all") on the headline scale, if it has one."""
    for norm in ctx.inst.norms:
        if norm.scale == ctx.main and norm.group == "all":
            return norm
    return None


def _direction(low: float, high: float, up: str, down: str, same: str) -> str:
    if low > 0:
        return up
    if high < 0:
        return down
    return same


def _headline(ctx: Context, point: _Point | None, change: _Change | None, norm: Any) -> str:
    what = ctx.name(ctx.main).lower()
    parts = []
    if point is not None:
        text = (f"{point.who} averaged {_num(point.mean)} on the {ctx.inst.id.upper()} "
                f"{what} in {ctx.when(point.time)}")
        if norm is not None:
            rel = _direction(point.low - norm.mean, point.high - norm.mean,
                             "above", "below", "close to")
            text += f", {rel} the national norm of {_num(norm.mean)}"
        parts.append(text)
    if change is not None:
        size = effect_word(change.d) if change.d is not None else None
        way = _direction(change.low, change.high, "higher", "lower", "")
        if change.same_students:
            how = ("a mixed model that holds the entering classes apart"
                   if change.model == "cohort-sequential model" else "mixed model")
            if way:
                text = (f"following the same students ({how}), scores were "
                        f"{_num(abs(change.diff))} points {way} in {ctx.when(change.last)} than "
                        f"in {ctx.when(change.first)}")
                text += f" (a {size} change)" if size else ""
            else:
                text = (f"the same students' scores in {ctx.when(change.last)} were not clearly "
                        f"different from {ctx.when(change.first)}")
        else:
            if way:
                text = (f"students in {ctx.when(change.last)} scored {_num(abs(change.diff))} "
                        f"points {way} than students in {ctx.when(change.first)} — different "
                        "students, so this is a gap between classes, not a change of the same "
                        "students")
            else:
                text = (f"students in {ctx.when(change.last)} and in {ctx.when(change.first)} did "
                        "not clearly differ")
        parts.append(text)
    if not parts:
        return (f"Too few students answered to describe the {what} without revealing small "
                "groups.")
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def _cards(ctx: Context, point: _Point | None, change: _Change | None,
           norm: Any) -> list[tuple[str, str, str]]:
    what = ctx.name(ctx.main).lower()
    lo_s, hi_s = ctx.inst.scale_range(ctx.main)
    cards = []
    if point is not None:
        cards.append((f"{point.who}, {ctx.when(point.time)}", _num(point.mean),
                      f"Average {what} (possible {lo_s:g}–{hi_s:g}); "
                      f"{_likely(point.low, point.high)} (95% CI); n = {point.n:,}"))
    if change is not None:
        who = "same students" if change.same_students else "different students"
        sure = ("could be no change at all" if change.low <= 0 <= change.high
                else "unlikely to be chance alone")
        cards.append((f"{ctx.header(ctx.time)} {ctx.show(ctx.time, change.first)} → "
                      f"{ctx.show(ctx.time, change.last)} ({who})",
                      f"{fmt_num(change.diff, 1, True)} points",
                      f"{_likely(change.low, change.high)} points (95% CI); {sure}"))
    if norm is not None and point is not None:
        diff, low, high = point.mean - norm.mean, point.low - norm.mean, point.high - norm.mean
        rel = _direction(low, high, "above the norm", "below the norm",
                         "no clear difference from the norm")
        cards.append(("Compared with the national norm", f"{fmt_num(diff, 1, True)} points",
                      f"{_likely(low, high)} (95% CI); {rel} of {_num(norm.mean)} "
                      f"(SD {_num(norm.sd)})"))
    elif change is not None and change.d is not None:
        what_d = (f"Cohen's d = {fmt_num(change.d, 2)}" if change.model is None else
                  f"d = {fmt_num(change.d, 2)}: the {change.model}'s change over its SD of "
                  "one answer")
        cards.append(("Size of the change", effect_word(change.d).capitalize(),
                      f"{what_d} (0.2 small, 0.5 medium, 0.8 large)"))
    return cards


def _conclusions(ctx: Context, change: _Change | None) -> tuple[list[str], list[str]]:
    time = ctx.tw
    inv = ctx.results.get("comparability")
    can, cannot = [], []
    if ctx.cohort is not None:
        can.append(f"How the newest class compares with earlier classes at the same {time}.")
    if ctx.longitudinal:
        can.append(f"How the same students' scores changed: answers of students seen in two or "
                   f"more {time}s are linked (mixed model, paired change).")
        cannot.append("That every class changed alike, or that students who stopped answering "
                      "would have changed the same way as those who stayed.")
    else:
        cannot.append(f"That individual students' empathy changed: each {time}'s respondents are "
                      f"different students, so a gap between {time}s may be a difference "
                      "between classes.")
    if inv is not None and getattr(inv, "sound", False):
        can.append(f"That scores mean the same in every {time}: the questionnaire measured "
                   "alike across them (measurement invariance holds; appendix).")
    elif inv is not None:
        cannot.append(f"That scores mean exactly the same in every {time}: measurement "
                      "invariance was not shown, so part of a change may be in how students "
                      "read the items (appendix).")
    else:
        cannot.append(f"Whether scores mean the same in every {time}: measurement invariance "
                      "could not be checked.")
    if _norm(ctx) is not None:
        can.append("Where the scores sit against a published national norm (a different "
                   "population: context, not a benchmark).")
    cannot.append("Why scores differ: the survey cannot separate curriculum, class make-up "
                  "and who chose to answer.")
    cannot.append(f"Anything about one student: groups of fewer than {ctx.min_cell} are hidden.")
    return can, cannot


def _chart(ctx: Context, point: _Point | None, norm: Any) -> partial:
    """The summary chart as a drawing function with its data (picklable, so that the figure
    worker can draw it; see :mod:`empathy_metrics.report._figures`)."""
    main = ctx.main
    bt = ctx.tr.by_time
    tot = bt[bt["scale"] == main].set_index("time")
    order = list(ctx.times)
    shown = [t for t in order if ctx.shown.get((main, t), False)]
    newest = None
    if point is not None and point.cohort is not None:
        ct = ctx.tr.cohort_trajectories
        newest = ct[(ct["scale"] == main) & (ct[ctx.cohort] == point.cohort)
                    & ~ct["suppressed"].astype(bool)].sort_values("time")
        newest = newest[["time", "mean", "ci_low", "ci_high"]]
    return partial(_draw_chart, order=order, band=tot.loc[shown, ["mean", "ci_low", "ci_high"]],
                   newest=newest, point=point, norm=norm, scale_range=ctx.inst.scale_range(main),
                   ticks=[ctx.show(ctx.time, t) for t in order], xlabel=ctx.header(ctx.time),
                   ylabel=f"{ctx.name(main)} (mean)")


def _draw_chart(*, order: list[Any], band: pd.DataFrame, newest: pd.DataFrame | None,
                point: _Point | None, norm: Any, scale_range: tuple[float, float],
                ticks: list[str], xlabel: str, ylabel: str) -> Any:
    """The newest class and the trend of everyone (``band``: mean and CI of the shown times),
    with the norm band; the y-axis says how much of the possible range it shows (a break mark
    when it does not start at the minimum)."""
    from matplotlib.figure import Figure as MplFigure

    from ... import plots

    lo_s, hi_s = scale_range
    xpos = {t: i for i, t in enumerate(order)}
    fig = MplFigure(figsize=(7.4, 2.45), layout="constrained")
    ax = fig.subplots()
    x = np.array([xpos[t] for t in band.index], dtype=float)
    m = band["mean"].to_numpy(float)
    lo = band["ci_low"].to_numpy(float)
    hi = band["ci_high"].to_numpy(float)
    values = [*lo, *hi]
    if norm is not None:
        ax.axhspan(norm.mean - norm.sd, norm.mean + norm.sd, color="#cfcfcf", alpha=0.45,
                   lw=0, label="National norm: mean ± 1 SD", gid="norm_band")
        ax.axhline(norm.mean, color="#7a7a7a", lw=1, ls="--", gid="norm_mean")
        values += [norm.mean - norm.sd, norm.mean + norm.sd]
    ax.fill_between(x, lo, hi, color=plots.OKABE_ITO[1], alpha=0.3, lw=0, gid="ci_band")
    ax.plot(x, m, marker="o", color=plots.OKABE_ITO[4], label="All students (95% CI)",
            gid="mean")
    if newest is not None:
        cx = np.array([xpos[t] for t in newest["time"]], dtype=float)
        cm = newest["mean"].to_numpy(float)
        err = np.vstack([cm - newest["ci_low"].to_numpy(float),
                         newest["ci_high"].to_numpy(float) - cm])
        ax.errorbar(cx + 0.06, cm, yerr=err, marker="D", ms=7, color=plots.OKABE_ITO[0],
                    capsize=3, lw=1.5, label=point.who.replace("The newest", "Newest"),
                    gid="newest")
        values += list(newest["ci_low"]) + list(newest["ci_high"])
    elif point is not None:
        ax.errorbar([xpos[point.time] + 0.06], [point.mean],
                    yerr=[[point.mean - point.low], [point.high - point.mean]], marker="D",
                    ms=7, color=plots.OKABE_ITO[0], capsize=3, label=point.who, gid="newest")
    vals = np.array([v for v in values if np.isfinite(v)], dtype=float)
    if vals.size:
        span = max(vals.max() - vals.min(), 0.1 * (hi_s - lo_s))
        y0, y1 = max(lo_s, vals.min() - 0.15 * span), min(hi_s, vals.max() + 0.15 * span)
    else:
        y0, y1 = lo_s, hi_s
    ax.set_ylim(y0, y1)
    ax.set_xticks(range(len(order)), ticks)
    ax.set_xlim(-0.5, len(order) - 0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if y0 > lo_s:
        plots.axis_break(ax)
    ax.annotate(f"The axis shows {y0:.0f}–{y1:.0f}\nof the possible {lo_s:g}–{hi_s:g}",
                (1.02, 0.0), xycoords="axes fraction", fontsize=8, color="#5b6773",
                gid="axis_note", annotation_clip=False, va="bottom", wrap=True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _summary(ctx: Context, section: Section) -> list[tuple[str, str, str]]:
    """Fill page one; the three cards are also ``ctx.highlights``."""
    point, change, norm = _newest(ctx), _change(ctx), _norm(ctx)
    section.para(_headline(ctx, point, change, norm))
    what, time = ctx.name(ctx.main).lower(), ctx.tw
    lo_s, hi_s = ctx.inst.scale_range(ctx.main)
    caption = (f"Mean {what} of everyone who answered in each {time} (line, 95% band)"
               + (f" and {point.who.lower()} (diamonds, 95% CI)" if point else "")
               + (f"; grey: national norm, mean ± 1 SD ({norm.population}; "
                  f"{norm.citation.split('.')[0]})" if norm is not None else "")
               + f". Possible scores {lo_s:g}–{hi_s:g}.")
    draw = ctx.run.guard(section, "Summary chart", lambda: _chart(ctx, point, norm))
    if draw is not None:
        ctx.fig(section, "Summary chart", draw, "summary", caption,
                f"Line chart of the mean {what} by {time} with the newest class")
    cards = _cards(ctx, point, change, norm)
    if cards:
        section.add(("cards", cards))
    can, cannot = _conclusions(ctx, change)
    section.add(("cols", [("What you can conclude", can), ("What you cannot conclude", cannot)]))
    ctx.highlights = cards
    return cards


SECTION = SectionSpec("summary", 10, lambda ctx: "Summary", _summary,
                      needs=("change", "comparability", "attrition"))
