"""Change and effect sizes: cross-sectional change, tests across times, the mixed model,
paired and reliable change, group and cohort differences.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._context import Context
from .._tables import Column, Section, Table, fmt_ci
from . import SectionSpec


def _mixed_model(ctx: Context, section: Section) -> None:
    """Fit the mixed model on the times shown in the report (sets ``ctx.mixed_tr``)."""
    from .._models import fit_mixed

    tr = ctx.tr
    kept = [t for t in ctx.times if ctx.time_shown[t]]
    if (tr.id is not None and ctx.mixed_scales and tr.reference in kept and len(kept) >= 2
            and "ids do not repeat" not in " ".join(tr.notes)):
        # only the times shown in the report's tables: the model's terms and counts can
        # then reveal nothing about a suppressed time
        ctx.mixed_tr = ctx.run(section, "The mixed model", lambda: fit_mixed(ctx))
    else:
        ctx.run.step()


def _change(ctx: Context, section: Section) -> None:
    tr, time = ctx.tr, ctx.tw
    ref = tr.reference
    section.para(
        f"Cross-sectional change compares everyone who answered at each {time} with everyone "
        f"at {ctx.when(ref)} (Welch mean difference, Cohen's d and Hedges' g with 95% "
        "confidence intervals). Change is given in scale points as well as in SD units, "
        "because standardised effects alone can exaggerate small changes (Colliver et al. "
        "2010).")
    cols = ["scale", "time", "n", "diff_vs_ref", "diff_ci_low", "diff_ci_high", "diff_p",
            "d_vs_ref", "d_ci_low", "d_ci_high", "g_vs_ref", "g_ci_low", "g_ci_high",
            "suppressed", "primary_suppressed"]
    bt = tr.by_time[tr.by_time["time"] != ref][[c for c in cols if c in tr.by_time.columns]]
    section.add(Table(
        "change_vs_reference", f"Change from {ctx.when(ref)}", ctx.with_names(bt),
        [Column.text("scale_name", "Scale"), ctx.vcol("time", ctx.time),
         Column.int("n", "n"), Column.num("diff_vs_ref", "Difference (points)", 2, True),
         Column.ci("diff_ci_low", "diff_ci_high"), Column.p("diff_p"),
         Column.num("d_vs_ref", "Cohen's d", 2, True),
         Column.ci("d_ci_low", "d_ci_high", "95% CI of d"),
         Column.num("g_vs_ref", "Hedges' g", 2, True)], min_cell=ctx.min_cell))
    rows = []
    for scale in tr.scales:
        t = tr.tests.get(scale, {})
        wa, kw, lt = t.get("welch_anova"), t.get("kruskal"), t.get("linear_trend")
        if wa:
            rows.append({"scale": scale, "test": "Welch ANOVA",
                         "statistic": f"F({wa['df1']:.0f}, {wa['df2']:.1f})",
                         "value": wa["statistic"], "p": wa["p"]})
        if kw:
            rows.append({"scale": scale, "test": "Kruskal–Wallis",
                         "statistic": f"H ({kw['df']} df)", "value": kw["statistic"],
                         "p": kw["p"]})
        if lt:
            rows.append({"scale": scale, "test": f"Linear trend per {time} (OLS slope)",
                         "statistic": f"slope (95% CI {fmt_ci(*lt['ci'])})",
                         "value": lt["estimate"], "p": lt["p"]})
    if rows:
        section.add(Table(
            "tests_across_time", f"Tests across {time}s (shown {time}s only)",
            ctx.with_names(pd.DataFrame(rows)),
            [Column.text("scale_name", "Scale"), Column.text("test", "Test"),
             Column.text("statistic", "Statistic"), Column.num("value", "Value"),
             Column.p("p")], min_cell=ctx.min_cell))
    adj = []
    for scale in tr.scales:
        for a in tr.tests.get(scale, {}).get("adjacent", []):
            ci = a.get("ci") or [None, None]
            adj.append({"scale": scale, "from": a["from"], "to": a["to"], "diff": a["diff"],
                        "ci_low": ci[0], "ci_high": ci[1], "p": a["p"],
                        "p_holm": a["p_holm"], "suppressed": bool(a.get("suppressed"))})
    if adj:
        section.add(Table(
            "adjacent_change", f"Change between adjacent {time}s (Holm-adjusted p)",
            ctx.with_names(pd.DataFrame(adj)),
            [Column.text("scale_name", "Scale"), ctx.vcol("from", ctx.time, "From"),
             ctx.vcol("to", ctx.time, "To"), Column.num("diff", "Difference", 2, True),
             Column.ci("ci_low", "ci_high"), Column.p("p"), Column.p("p_holm", "p (Holm)")],
            min_cell=ctx.min_cell))

    section.heading("Longitudinal: the same students followed over time")
    if ctx.id is None:
        section.para(f"No respondent id column was given, so the same students cannot be "
                     f"followed across {time}s; only the cross-sectional comparison above is "
                     "available.")
        return
    if any("ids do not repeat" in n for n in tr.notes):
        section.para(f"Respondent ids in '{ctx.id}' do not repeat across {time}s, so the "
                     "longitudinal analyses were not run.")
        return
    mt = ctx.mixed_tr
    if mt is not None:
        section.para(
            f"A linear mixed model with a random intercept per student (score ~ {time} + "
            f"(1 | {ctx.id}), REML) uses every answer of every student, including those who "
            f"missed a {time}. Estimates are differences from {ctx.when(ref)} in points.")
        mrows = []
        for scale in mt.scales:
            md = mt.mixed_model.get(scale)
            if not md:
                continue
            for term, v in md["terms"].items():
                ci = v.get("ci") or [None, None]
                mrows.append({"scale": scale, "term": term, "estimate": v.get("estimate"),
                              "se": v.get("se"), "ci_low": ci[0], "ci_high": ci[1],
                              "p": v.get("p"), "suppressed": bool(v.get("suppressed", False)),
                              "primary_suppressed": v.get("suppressed") != "complementary"})
            sl = mt.linear_slope.get(scale)
            if sl:
                mrows.append({"scale": scale, "term": f"linear slope per {time}",
                              "estimate": sl["estimate"], "se": sl["se"],
                              "ci_low": sl["ci"][0], "ci_high": sl["ci"][1], "p": sl["p"],
                              "suppressed": False})
            mrows.append({"scale": scale, "term": "residual SD", "estimate": md["sigma"],
                          "suppressed": False})
            mrows.append({"scale": scale, "term": "random-intercept SD (between students)",
                          "estimate": md["sd_intercept"], "suppressed": False})
            section.para(f"{ctx.name(scale)}: {md['n_obs']:,} answers from "
                         f"{md['n_groups']:,} students.")
        if mrows:
            section.add(Table(
                "mixed_model", "Mixed model estimates", ctx.with_names(pd.DataFrame(mrows)),
                [Column.text("scale_name", "Scale"), Column.text("term", "Term"),
                 Column.num("estimate", "Estimate", 2), Column.num("se", "SE"),
                 Column.ci("ci_low", "ci_high"), Column.p("p")], min_cell=ctx.min_cell))
        for note in mt.notes:
            if note not in tr.notes:
                section.notes.append(note)
    if not tr.paired.empty:
        section.add(Table(
            "paired_change", f"Paired change of the same students between adjacent {time}s",
            ctx.with_names(tr.paired),
            [Column.text("scale_name", "Scale"), ctx.vcol("from", ctx.time, "From"),
             ctx.vcol("to", ctx.time, "To"), Column.int("n", "Students"),
             Column.num("mean_change", "Mean change", 2, True),
             Column.ci("ci_low", "ci_high"), Column.num("dz", "d_z", 2, True),
             Column.p("p")], min_cell=ctx.min_cell))
    if not tr.reliable_change.empty:
        rc = tr.reliable_change
        section.para(
            "Reliable change (Jacobson & Truax 1991): a student's change is counted as a "
            "reliable decline or improvement when it exceeds what measurement error alone "
            "would produce 95% of the time (|RCI| > 1.96).")
        rc = ctx.with_names(rc.drop(columns=[c for c in ("s_diff",) if c in rc.columns]))
        rc["category"] = rc["category"].astype(str).str.replace("_", " ")
        section.add(Table(
            "reliable_change", f"Reliable change from {ctx.when(ref)}", rc,
            [Column.text("scale_name", "Scale"), ctx.vcol("to", ctx.time, f"To {time}"),
             Column.text("category", "Category"), Column.int("count", "Students"),
             Column.num("alpha", "Alpha used", 3)], min_cell=ctx.min_cell,
            display=rc[rc["scale"] == ctx.main] if ctx.main in set(rc["scale"]) else None,
            note=ctx.main_only_note))
    if ctx.group is not None and not tr.group_differences.empty:
        section.heading(f"Differences between {ctx.gw} groups")
        gd = tr.group_differences
        keep = [c for c in ("scale", "time", "group", "reference_group", "diff", "diff_ci_low",
                            "diff_ci_high", "diff_p", "d", "d_ci_low", "d_ci_high", "g",
                            "suppressed", "primary_suppressed") if c in gd.columns]
        gdn = ctx.with_names(gd[keep])
        section.add(Table(
            "group_differences", f"{ctx.header(ctx.group)} differences within each {time}",
            gdn,
            [Column.text("scale_name", "Scale"), ctx.vcol("time", ctx.time),
             ctx.vcol("group", ctx.group),
             ctx.vcol("reference_group", ctx.group, "Compared with"),
             Column.num("diff", "Difference", 2, True), Column.ci("diff_ci_low", "diff_ci_high"),
             Column.p("diff_p"), Column.num("d", "d", 2, True)], min_cell=ctx.min_cell,
            display=gdn[gdn["scale"] == ctx.main], note=ctx.main_only_note))


def _cohort_differences(ctx: Context, section: Section) -> None:
    cd = getattr(ctx.tr, "cohort_differences", None)
    if ctx.cohort is None or cd is None or cd.empty or "diff" not in cd.columns:
        return
    time, cohort = ctx.tw, ctx.cw
    section.heading(f"Differences between entering {cohort}s")
    section.para(f"Each {cohort} compared with the reference {cohort} at the same {time} "
                 "(Welch mean difference and Cohen's d), so a director can see whether a "
                 "class differs from earlier ones.")
    keep = [c for c in ("scale", "time", "cohort", "reference_cohort", "diff", "diff_ci_low",
                        "diff_ci_high", "diff_p", "d", "d_ci_low", "d_ci_high", "g",
                        "suppressed", "primary_suppressed") if c in cd.columns]
    data = ctx.with_names(cd[keep])
    section.add(Table(
        "cohort_differences", f"{ctx.header(ctx.cohort)} differences within each {time}", data,
        [Column.text("scale_name", "Scale"), ctx.vcol("time", ctx.time),
         ctx.vcol("cohort", ctx.cohort),
         ctx.vcol("reference_cohort", ctx.cohort, "Compared with"),
         Column.num("diff", "Difference", 2, True), Column.ci("diff_ci_low", "diff_ci_high"),
         Column.p("diff_p"), Column.num("d", "d", 2, True)],
        keys=("cohort", "reference_cohort"), min_cell=ctx.min_cell,
        display=data[data["scale"] == ctx.main], note=ctx.main_only_note))


def _build(ctx: Context, section: Section) -> Any:
    _mixed_model(ctx, section)
    _change(ctx, section)
    _cohort_differences(ctx, section)
    return ctx.mixed_tr


SECTION = SectionSpec("change", 40, lambda ctx: "Change and effect sizes", _build)
