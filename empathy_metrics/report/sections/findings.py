"""Key findings in words (every number with its interval), and how to read the report."""

from __future__ import annotations

import numpy as np

from .._context import Context
from .._tables import Section, fmt_ci, fmt_num
from .._words import change_phrase, effect_word, p_phrase
from . import SectionSpec


def _findings(ctx: Context, section: Section) -> list[tuple[str, str, str]]:
    """Plain-words findings; returns detail cards (label, value, detail) for other sections."""
    rel, inv = ctx.results.get("reliability"), ctx.results.get("comparability")
    tr, time, inst = ctx.tr, ctx.tw, ctx.inst
    ref = tr.reference
    bt = tr.by_time
    main = ctx.main
    what = ctx.name(main).lower()  # "total", or the headline scale's name
    lo_s, hi_s = inst.scale_range(main)
    total = bt[bt["scale"] == main].set_index("time")
    highlights: list[tuple[str, str, str]] = []
    n_resp = len(ctx.frame)
    who = (f" from {ctx.frame[ctx.id].nunique():,} students" if ctx.id else "")
    section.para(
        f"This report describes {n_resp:,} responses{who} to the {inst.name}, by {time} "
        f"({', '.join(ctx.show(ctx.time, t) for t in ctx.times)}). Higher scores mean more "
        f"empathy; the {what} "
        f"ranges from {lo_s:g} to {hi_s:g}. " + ctx.design_sentence())
    if ctx.shown.get((main, ref), False):
        r = total.loc[ref]
        highlights.append((f"Mean {what}, {ctx.when(ref)}", fmt_num(r["mean"], 1),
                           f"95% CI {fmt_ci(r['ci_low'], r['ci_high'], 1)}; n = {int(r['n'])}"))
    best = None
    for t in ctx.times:
        if t == ref or not ctx.shown.get((main, t), False):
            continue
        r = total.loc[t]
        if not np.isfinite(r["diff_vs_ref"]):
            continue
        phrase, ci = change_phrase(r["diff_vs_ref"], r["diff_ci_low"], r["diff_ci_high"])
        sentence = (f"{ctx.main_words} of the students answering in {ctx.when(t)} was {phrase} "
                    f"than that of the students answering in {ctx.when(ref)} "
                    f"({ci}; d = {fmt_num(r['d_vs_ref'], 2)}, "
                    f"95% CI {fmt_ci(r['d_ci_low'], r['d_ci_high'])}).")
        if r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0:
            sentence += (f" The interval excludes no change ({p_phrase(r['diff_p'])}); the "
                         f"effect is {effect_word(r['d_vs_ref'])} by Cohen's conventions.")
        else:
            sentence += " The interval includes no change: the data cannot tell this apart " \
                        "from no difference."
        section.bullets.append(sentence)
        if best is None or abs(r["d_vs_ref"]) > abs(best[1]["d_vs_ref"]):
            best = (t, r)
    if best is not None:
        t, r = best
        highlights.append((f"Largest change: {ctx.when(t)} vs {ref}",
                           f"{fmt_num(r['diff_vs_ref'], 1, True)} points",
                           f"95% CI {fmt_ci(r['diff_ci_low'], r['diff_ci_high'], 1)}; "
                           f"d = {fmt_num(r['d_vs_ref'], 2)}"))
    mt = ctx.mixed_tr
    md = mt.mixed_model.get(main) if mt is not None else None
    if md:
        sl = mt.linear_slope.get(main)
        terms = {k: v for k, v in md["terms"].items() if k != "Intercept"
                 and v.get("estimate") is not None}
        if best is not None and f"time[{best[0]}]" in terms:
            v = terms[f"time[{best[0]}]"]
            phrase, ci = change_phrase(v["estimate"], v["ci"][0], v["ci"][1])
            section.bullets.append(
                f"Following the same students ({md['n_groups']:,} students, mixed model), "
                f"{ctx.main_words.lower()} in {ctx.when(best[0])} was {phrase} than in "
                f"{ctx.when(ref)} ({ci}).")
        if sl:
            section.bullets.append(
                f"On average the {what} changed by {fmt_num(sl['estimate'], 2, True)} points "
                f"per {time} (95% CI {fmt_ci(*sl['ci'])}; mixed model).")
    gd = tr.group_differences
    if ctx.group is not None and not gd.empty and "diff" in gd.columns:
        first = gd[(gd["scale"] == main) & (gd["time"] == ref) & ~gd["suppressed"]]
        for r in first.itertuples():
            if r.diff != r.diff:
                continue
            phrase, ci = change_phrase(r.diff, r.diff_ci_low, r.diff_ci_high)
            section.bullets.append(
                f"In {ctx.when(ref)}, the total of the '{ctx.show(ctx.group, r.group)}' group was "
                f"{phrase} than that of the '{ctx.show(ctx.group, r.reference_group)}' group "
                f"({ci}; d = {fmt_num(r.d, 2)}).")
    cd = getattr(tr, "cohort_differences", None)
    if ctx.cohort is not None and cd is not None and not cd.empty and "diff" in cd.columns:
        mine = cd[(cd["scale"] == main) & ~cd["suppressed"].astype(bool)]
        if not mine.empty:
            newest = max(mine["cohort"])
            r = mine[mine["cohort"] == newest].sort_values("time").iloc[0]
            if r["diff"] == r["diff"]:
                phrase, ci = change_phrase(r["diff"], r["diff_ci_low"], r["diff_ci_high"])
                section.bullets.append(
                    f"The newest entering {ctx.cw} ({ctx.show(ctx.cohort, newest)}) scored "
                    f"{phrase} in {ctx.when(r['time'])} than the "
                    f"{ctx.show(ctx.cohort, r['reference_cohort'])} {ctx.cw} "
                    f"did ({ci}; d = {fmt_num(r['d'], 2)})"
                    + (": no clear difference." if r["diff_ci_low"] <= 0 <= r["diff_ci_high"]
                       else "."))
    if not tr.reliable_change.empty:
        rc = tr.reliable_change
        last = rc[(rc["scale"] == main)]
        if not last.empty:
            to = max(last["to"])
            part = last[last["to"] == to]
            shown = {r.category: r.count for r in part.itertuples() if not r.suppressed}
            if "decline" in shown:
                section.bullets.append(
                    f"Between {ctx.when(ref)} and {ctx.when(to)}, "
                    f"{int(shown['decline'])} students "
                    f"showed a reliable decline in the {what} (beyond measurement error)"
                    + (f" and {int(shown['improvement'])} a reliable improvement"
                       if "improvement" in shown else "") + ".")
    alphas = []
    if rel is not None:
        tab = rel.table
        alphas = [float(a) for a in tab.loc[(tab["scale"] == main) & ~tab["suppressed"],
                                            "alpha"] if a is not None and a == a]
    if alphas:
        lo, hi = min(alphas), max(alphas)
        verdict = ("adequate for comparing groups" if lo >= 0.7 else
                   "below the .70 usually wanted for group comparisons in some "
                   f"{time}s")
        section.bullets.append(
            f"Reliability of the {what} score (Cronbach's alpha) ranged from {lo:.2f} to "
            f"{hi:.2f} across {time}s: {verdict}.")
        highlights.append((f"Reliability (alpha, {what})", f"{lo:.2f}–{hi:.2f}",
                           f"across {len(alphas)} {time}s"))
    if inv is not None:
        section.bullets.append(
            (f"Comparisons across {time}s are sound: " if inv.sound else
             f"Comparisons across {time}s need care: ") + str(inv.verdict))
        highlights.append((f"Comparable across {time}s?", "Yes" if inv.sound else "With care",
                           "scalar invariance " + ("holds" if inv.sound else "not shown")))
    else:
        section.bullets.append(f"Whether scores are comparable across {time}s (measurement "
                               "invariance) could not be checked; see the factor structure "
                               "section.")
    section.notes_title = "How to read this report"
    section.notes += [
        "A 95% confidence interval (CI) is the range of values compatible with the data; "
        "when it excludes zero, the change is unlikely to be chance alone.",
        "Cohen's d gives a difference in standard deviations: about 0.2 is small, 0.5 medium "
        "and 0.8 large (Cohen 1988). Differences are also given in scale points.",
        f"Cross-sectional results compare everyone who answered at each {time}; longitudinal "
        "results (mixed model, paired change) follow the same students over time.",
    ]
    hidden = int(bt["suppressed"].sum())
    if not tr.cohort_trajectories.empty:
        hidden += int(tr.cohort_trajectories["suppressed"].sum())
    if not tr.group_stats.empty:
        hidden += int(tr.group_stats["suppressed"].sum())
    if hidden:
        section.bullets.append(
            f"{hidden} table cell(s) describe fewer than {ctx.min_cell} students (or would "
            "reveal such a cell) and are suppressed throughout.")
    return highlights


SECTION = SectionSpec("findings", 15, lambda ctx: "Key findings", _findings,
                      needs=("change", "reliability", "comparability"))
