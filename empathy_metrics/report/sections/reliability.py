"""Reliability by time: Cronbach's alpha per scale and time, with its figure."""

from __future__ import annotations

from functools import partial
from typing import Any

from .._context import Context
from .._tables import Column, Section, Table
from . import SectionSpec


def _reliability(ctx: Context, section: Section) -> Any:
    """Alpha per time from :func:`empathy_metrics.cohorts.reliability_by_time`."""
    import dataclasses

    from ... import plots
    from ...cohorts import reliability_by_time

    time, opts = ctx.tw, ctx.opts
    section.para(
        f"Internal consistency of each scale, computed separately for each {time}: "
        f"Cronbach's alpha with its 95% confidence interval ({opts['alpha_ci']} method) on "
        "the students who answered every item of the scale. Alpha of .70 or more is usually "
        "considered adequate for comparing groups.")
    res = ctx.run(section, f"Reliability by {time}",
                  lambda: reliability_by_time(ctx.frame, ctx.inst, time=ctx.time,
                                              min_cell=ctx.min_cell, ci=opts["alpha_ci"],
                                              scales=ctx.tr.scales))
    if res is None:
        return None
    table = res.table.copy()
    # a time hidden in the score tables stays hidden here too (one pattern for the report)
    hidden = ~table["time"].map(ctx.time_shown).fillna(False).astype(bool)
    # ... with the kind it has there (small, or a complement)
    small = table["time"].map(ctx.time_small).fillna(True).astype(bool)
    own = table["primary_suppressed"].astype(bool) & table["suppressed"].astype(bool)
    table["primary_suppressed"] = small.where(hidden, own).to_numpy(dtype=bool)
    table["suppressed"] = table["suppressed"].astype(bool) | hidden.to_numpy()
    for col in ("n", "alpha", "ci_low", "ci_high"):
        table[col] = table[col].astype(object)
        table.loc[table["suppressed"], col] = None
    res = dataclasses.replace(res, table=table)
    for note in res.notes:
        section.notes.append(note)
    section.add(Table(
        "reliability_by_time", f"Reliability by {time}",
        ctx.with_names(table.drop(columns=[c for c in ("note",) if c in table.columns])),
        [Column.text("scale_name", "Scale"), ctx.vcol("time", ctx.time),
         Column.int("n", "n (complete)"), Column.num("alpha", "Alpha", 3),
         Column.ci("ci_low", "ci_high", digits=3)], min_cell=ctx.min_cell))
    if not table["suppressed"].all():
        ctx.fig(section, "Alpha plot",
                partial(plots.alpha_plot, res, scale=ctx.main, min_cell=ctx.min_cell),
                "alpha", f"Cronbach's alpha of the {ctx.name(ctx.main).lower()} score by {time} "
                "(95% CI).",
                f"Chart of Cronbach's alpha by {time}")
    return res


SECTION = SectionSpec("reliability", 110, lambda ctx: f"Reliability by {ctx.tw}",
                      _reliability, appendix=True)
