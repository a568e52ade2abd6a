"""Who answered: attrition, completers-only vs all-available change, response rates and the
cohort-sequential model — every comparison marked "same students" or "different students".

Reads :func:`empathy_metrics.cohorts.trend`'s ``attrition``, ``sensitivity`` and
``response_rates`` tables and ``cohort_sequential`` models (see
:mod:`empathy_metrics.cohorts.attrition` and :mod:`empathy_metrics.cohorts.cohort_sequential`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...cohorts._base import SAME_STUDENTS
from .._context import Context
from .._tables import Column, Section, Table
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
                     f"repeat across {ctx.tw}s and a later {ctx.tw} after "
                     f"{ctx.when(tr.reference)}.")
        return
    section.para(
        f"Students seen at {ctx.when(tr.reference)} who answered again later are compared "
        "with those never seen again, on their scores at that first time (different students; "
        "difference = not seen again − seen later, Welch CI, Cohen's d). A negative difference "
        "means the students who left were less empathic to begin with: the later means of the "
        "respondents then flatter the class, and a cross-sectional decline is understated.")
    display = at[at["scale"] == ctx.main]
    section.add(Table(
        "attrition", f"Who was not seen again after {ctx.when(tr.reference)} "
        "(different students)", ctx.with_names(at),
        [Column(ctx.header(ctx.cohort) if ctx.cohort else "Cohort",
                lambda r: f"all {ctx.cw}s" if r.get("cohort") == "all"
                else ctx.show(ctx.cohort, r.get("cohort")), numeric=False, key=True),
         Column.int("n_baseline", "Students"),
         Column.int("n_not_seen", "Not seen again"),
         Column.num("mean_seen_later", "Mean, seen later", 1),
         Column.num("mean_not_seen", "Mean, not seen again", 1),
         Column.num("diff", "Difference (points)", 2, True),
         Column.ci("diff_ci_low", "diff_ci_high"), Column.num("d", "Cohen's d", 2, True)],
        min_cell=ctx.min_cell, keys=("cohort",), note=ctx.main_only_note,
        display=ctx.with_names(display)))


def _with_mixed_rows(ctx: Context, se: pd.DataFrame) -> pd.DataFrame:
    """The report's trend runs without mixed models (they are fitted once, on the shown
    times, by the change section): their ``time[t]`` effects become the "mixed model" rows,
    after each time's "all available" row (as :func:`~empathy_metrics.cohorts.attrition.
    sensitivity_table` places them)."""
    mt = ctx.mixed_tr
    if mt is None or (se["estimate"] == "mixed model").any():
        return se
    rows = []
    for r in se.to_dict("records"):
        rows.append(r)
        term = ((mt.mixed_model.get(r["scale"]) or {}).get("terms") or {}).get(
            f"time[{r['time']}]")
        if r["estimate"] == "all available" and term and term.get("estimate") is not None:
            rows.append({"scale": r["scale"], "time": r["time"], "estimate": "mixed model",
                         "n": None, "diff": term["estimate"], "ci_low": term["ci"][0],
                         "ci_high": term["ci"][1], "p": term.get("p"), "gap": None,
                         "design": SAME_STUDENTS, "suppressed": False})
    out = pd.DataFrame(rows, columns=se.columns)
    out["n"] = pd.Series([None if pd.isna(v) else int(v) for v in out["n"]], dtype=object,
                         index=out.index)
    return out


def _sensitivity(ctx: Context, section: Section, tr: Any) -> None:
    se = tr.sensitivity
    if se is None or se.empty:
        return
    se = _with_mixed_rows(ctx, se)
    section.para(
        f"Each {ctx.tw}'s change from {ctx.when(tr.reference)} estimated three ways: "
        "from all who answered (different students), from the mixed model (all answers of "
        "the same students, assuming who stops answering depends only on earlier answers) and "
        "from the completers only (the same students, seen at every "
        f"{ctx.tw} their {ctx.cw} reached). When the completers' change differs from the "
        "respondents' change, the respondents' means move with who answers.")
    section.add(Table(
        "change_by_design", "Change estimated from different and from the same students",
        ctx.with_names(se),
        [ctx.vcol("time", ctx.time), Column.text("estimate", "Estimate"),
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
        [ctx.vcol("cohort", ctx.cohort, ctx.header(ctx.cohort) if ctx.cohort else "Cohort"),
         ctx.vcol("time", ctx.time),
         Column.int("enrolled", "Enrolled"), Column.int("n", "Answered"),
         Column.num("response_rate", "Response rate", 2),
         Column.num("rate_change", "Change in rate", 2, True),
         Column.num("mean_change", "Change in mean (points)", 2, True)],
        min_cell=ctx.min_cell, keys=("cohort",), note=ctx.main_only_note,
        display=ctx.with_names(rr[rr["scale"] == ctx.main])))


def _term(ctx: Context, term: Any) -> str:
    """A model term in words: ``time[3]`` -> "Year 3", ``cohort[2021]`` -> "Cohort 2021"."""
    text = str(term)
    for prefix, column in (("time[", ctx.time), ("cohort[", ctx.cohort)):
        if text.startswith(prefix) and text.endswith("]") and column is not None:
            code = text[len(prefix):-1]
            values = ctx.times if column == ctx.time else ctx.frame[column].dropna().unique()
            value = next((v for v in values if str(v) == code), code)
            word = (ctx.when(value) if column == ctx.time
                    else f"{ctx.cw} {ctx.show(column, value)}")
            return word[:1].upper() + word[1:]
    return text


def _cohort_sequential(ctx: Context, section: Section) -> dict[str, Any] | None:
    """Fit the cohort-sequential model on the shown times (ids and cohorts needed); returns
    it (page one reads its year effect) or ``None``."""
    from .._models import fit_cohort_sequential

    tr = ctx.tr
    kept = [t for t in ctx.times if ctx.time_shown[t]]
    if ctx.cohort is None or ctx.id is None or tr.reference not in kept or len(kept) < 2:
        ctx.run.step()
        return None
    res = ctx.run(section, "The cohort-sequential model", lambda: fit_cohort_sequential(ctx))
    cs, notes = res if res is not None else (None, [])
    section.notes.extend(n for n in notes if n not in tr.notes and n not in section.notes)
    if not cs:
        section.para(f"The {ctx.tw} and entering-{ctx.cw} effects could not be separated "
                     "(see the notes).")
        return None
    rows = [{"term": k, "design": v["design"], "estimate": v["estimate"], "ci_low": v["ci"][0],
             "ci_high": v["ci"][1], "p": v["p"]}
            for k, v in cs["terms"].items() if v.get("design")]
    lrt = cs.get("interaction")
    words = (f"One mixed model separates the {ctx.tw} of training from the entering {ctx.cw} "
             f"({cs['formula']}): a {ctx.tw} effect compares the same students with "
             f"themselves at {ctx.when(cs['time_reference'])}; a {ctx.cw} effect compares "
             f"different students ({ctx.cw} {ctx.show(ctx.cohort, cs['cohort_reference'])} "
             f"as reference) at the same {ctx.tw}.")
    if lrt:
        words += (f" Whether the change across {ctx.tw}s differs between {ctx.cw}s: "
                  f"likelihood-ratio test χ²({lrt['df']}) = {lrt['chisq']:.2f}, "
                  f"p = {lrt['p']:.3g}.")
    section.para(words)
    section.add(Table(
        "cohort_sequential", f"{ctx.header(ctx.time)} and {ctx.cw} effects in one model",
        pd.DataFrame(rows),
        [Column("Term", lambda r: _term(ctx, r.get("term")), numeric=False, key=True),
         Column.text("design", "Comparison"),
         Column.num("estimate", "Estimate (points)", 2, True), Column.ci("ci_low", "ci_high"),
         Column.p("p")], min_cell=ctx.min_cell))
    return cs


def _build(ctx: Context, section: Section) -> dict[str, Any] | None:
    tr = ctx.tr
    section.para(_DESIGN_WORDS.format(time=ctx.tw))
    _attrition(ctx, section, tr)
    _sensitivity(ctx, section, tr)
    _response_rates(ctx, section, tr)
    return _cohort_sequential(ctx, section)


SECTION = SectionSpec("attrition", 45, lambda ctx: "Who answered: same and different students",
                      _build, needs=("change",))
