"""Who answered: attrition, completers-only vs all-available change, response rates and the
cohort-sequential model — every comparison marked "same students" or "different students".

Reads :func:`empathy_metrics.cohorts.trend`'s ``attrition``, ``sensitivity`` and
``response_rates`` tables and ``cohort_sequential`` models (see
:mod:`empathy_metrics.cohorts.attrition` and :mod:`empathy_metrics.cohorts.cohort_sequential`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._context import Context
from .._tables import Column, Section, Table
from .._words import when
from . import SectionSpec

_DESIGN_WORDS = (
    "Two kinds of comparison appear in this report. Different students "
    "(cross-sectional): the mean of everyone who answered at one {time} against the mean of "
    "everyone who answered at another — a gap between them can come from who answered as much "
    "as from change, and is never a decline of the same students. Same students "
    "(longitudinal): each student's answers compared with their own earlier answers (paired "
    "change, reliable change, the mixed model's {time} effects, the completers).")


def _attrition(ctx: Context, section: Section, tr: Any) -> None:
    at = tr.attrition
    if at is None or at.empty:
        section.para(f"Who stopped answering cannot be shown: it needs respondent ids that "
                     f"repeat across {ctx.time}s and a later {ctx.time} after "
                     f"{when(ctx.time, tr.reference)}.")
        return
    section.para(
        f"Students seen at {when(ctx.time, tr.reference)} who answered again later are compared "
        "with those never seen again, on their scores at that first time (different students; "
        "difference = not seen again − seen later, Welch CI, Cohen's d). A negative difference "
        "means the students who left were less empathic to begin with: the later means of the "
        "respondents then flatter the class, and a cross-sectional decline is understated.")
    display = at[at["scale"] == ctx.main].assign(
        cohort=lambda f: f["cohort"].map(lambda c: "all cohorts" if c == "all" else c))
    section.add(Table(
        "attrition", f"Who was not seen again after {when(ctx.time, tr.reference)} "
        "(different students)", ctx.with_names(at),
        [Column.text("cohort", "Cohort"), Column.int("n_baseline", "Students"),
         Column.int("n_not_seen", "Not seen again"),
         Column.num("mean_seen_later", "Mean, seen later", 1),
         Column.num("mean_not_seen", "Mean, not seen again", 1),
         Column.num("diff", "Difference (points)", 2, True),
         Column.ci("diff_ci_low", "diff_ci_high"), Column.num("d", "Cohen's d", 2, True)],
        min_cell=ctx.min_cell, keys=("cohort",), note=ctx.main_only_note,
        display=ctx.with_names(display)))


def _sensitivity(ctx: Context, section: Section, tr: Any) -> None:
    se = tr.sensitivity
    if se is None or se.empty:
        return
    section.para(
        f"Each {ctx.time}'s change from {when(ctx.time, tr.reference)} estimated three ways: "
        "from all who answered (different students), from the mixed model (all answers of "
        "the same students, assuming who stops answering depends only on earlier answers) and "
        "from the completers only (the same students, seen at every "
        f"{ctx.time} their cohort reached). When the completers' change differs from the "
        "respondents' change, the respondents' means move with who answers.")
    section.add(Table(
        "change_by_design", "Change estimated from different and from the same students",
        ctx.with_names(se),
        [Column.text("time", ctx.time.capitalize()), Column.text("estimate", "Estimate"),
         Column.text("design", "Comparison"), Column.int("n", "n"),
         Column.num("diff", "Change (points)", 2, True), Column.ci("ci_low", "ci_high"),
         Column.p("p"), Column.num("gap", "Completers − all", 2, True)],
        min_cell=ctx.min_cell, keys=("estimate", "design"), note=ctx.main_only_note,
        display=ctx.with_names(se[se["scale"] == ctx.main])))


def _response_rates(ctx: Context, section: Section, tr: Any) -> None:
    rr = tr.response_rates
    if rr is None or rr.empty:
        return
    section.add(Table(
        "response_rates", "Response rates beside the change in the mean score",
        ctx.with_names(rr),
        [Column.text("cohort", "Cohort"), Column.text("time", ctx.time.capitalize()),
         Column.int("enrolled", "Enrolled"), Column.int("n", "Answered"),
         Column.num("response_rate", "Response rate", 2),
         Column.num("rate_change", "Change in rate", 2, True),
         Column.num("mean_change", "Change in mean (points)", 2, True)],
        min_cell=ctx.min_cell, keys=("cohort",), note=ctx.main_only_note,
        display=ctx.with_names(rr[rr["scale"] == ctx.main])))


def _cohort_sequential(ctx: Context, section: Section) -> None:
    """Fit the cohort-sequential model on the shown times (ids and cohorts needed)."""
    from ...cohorts import trend

    tr = ctx.tr
    kept = [t for t in ctx.times if ctx.time_shown[t]]
    if ctx.cohort is None or ctx.id is None or tr.reference not in kept or len(kept) < 2:
        ctx.run.step()
        return
    frame = ctx.frame
    res = ctx.run(section, "The cohort-sequential model",
                  lambda: trend(frame[frame[ctx.time].isin(kept)], ctx.inst, time=ctx.time,
                                id=ctx.id, cohort=ctx.cohort, min_cell=ctx.min_cell,
                                reference=tr.reference, scales=[ctx.main], mixed=True))
    cs = None if res is None else res.cohort_sequential.get(ctx.main)
    if not cs:
        section.para(f"The {ctx.time} and entering-cohort effects could not be separated "
                     "(see the notes).")
        return
    rows = [{"term": k, "design": v["design"], "estimate": v["estimate"], "ci_low": v["ci"][0],
             "ci_high": v["ci"][1], "p": v["p"]}
            for k, v in cs["terms"].items() if v.get("design")]
    lrt = cs.get("interaction")
    words = (f"One mixed model separates the {ctx.time} of training from the entering cohort "
             f"({cs['formula']}): a {ctx.time} effect compares the same students with "
             f"themselves at {when(ctx.time, cs['time_reference'])}; a cohort effect compares "
             f"different students (cohort {cs['cohort_reference']} as reference) at the same "
             f"{ctx.time}.")
    if lrt:
        words += (f" Whether the change across {ctx.time}s differs between cohorts: "
                  f"likelihood-ratio test χ²({lrt['df']}) = {lrt['chisq']:.2f}, "
                  f"p = {lrt['p']:.3g}.")
    section.para(words)
    section.add(Table(
        "cohort_sequential", f"{ctx.time.capitalize()} and cohort effects in one model",
        pd.DataFrame(rows),
        [Column.text("term", "Term"), Column.text("design", "Comparison"),
         Column.num("estimate", "Estimate (points)", 2, True), Column.ci("ci_low", "ci_high"),
         Column.p("p")], min_cell=ctx.min_cell))


def _build(ctx: Context, section: Section) -> None:
    tr = ctx.tr
    section.para(_DESIGN_WORDS.format(time=ctx.time))
    _attrition(ctx, section, tr)
    _sensitivity(ctx, section, tr)
    _response_rates(ctx, section, tr)
    _cohort_sequential(ctx, section)


SECTION = SectionSpec("attrition", 45, lambda ctx: "Who answered: same and different students",
                      _build)
