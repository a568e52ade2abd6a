"""Factor structure of one time: exploratory and confirmatory factor analyses (whether the
items group into the published subscales). Comparability across times is the next section,
:mod:`.comparability`."""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd

from ...errors import InputError
from .._context import Context
from .._tables import Column, Section, Table
from .._words import p_phrase
from . import SectionSpec
from ._fit import FIT_COLUMNS, fit_rows, fit_word


def _factors(ctx: Context, section: Section) -> None:
    """EFA and CFA of the responses of one time (``options["structure_time"]``, default the
    reference time), unless that time is suppressed."""
    time, opts = ctx.tw, ctx.opts
    st = opts["structure_time"]
    if st is None:
        st = ctx.tr.reference
    else:
        match = [t for t in ctx.times if str(t) == str(st)]
        if not match:
            raise InputError(f"structure_time {st!r} is not a value of '{time}'",
                             hint=f"values are {', '.join(map(str, ctx.times))}")
        st = match[0]
    if not ctx.time_shown.get(st, False):
        section.unavailable = (f"The factor analyses were not run: {ctx.when(st)} has "
                               f"fewer than {ctx.min_cell} respondents.")
        for _ in range(3):
            ctx.run.step()
    else:
        _factor_analyses(ctx, section, st)


def _factor_analyses(ctx: Context, section: Section, st: Any) -> None:
    """Exploratory and confirmatory factor analyses of the responses at time ``st``."""
    from ... import plots
    from ...efa import efa

    opts, inst = ctx.opts, ctx.inst
    subs = [s for s in inst.scales if s != "total"]  # the factors (total is their sum)
    k = opts["efa_factors"] or max(len(subs), 1)
    sub = ctx.frame[ctx.frame[ctx.time] == st]
    section.para(
        f"Exploratory and confirmatory factor analyses of the {ctx.when(st)} responses "
        "(each student once). The published structure of the "
        f"{inst.id} has {len(subs)} subscale(s): "
        + ", ".join(inst.scale_name(s) for s in subs) + ".")
    section.heading("Exploratory factor analysis")
    e = ctx.run(section, "The exploratory factor analysis",
                lambda: efa(sub, inst, k, n_iter=opts["parallel_iter"], seed=opts["seed"]))
    if e is not None:
        pa = e.parallel
        section.para(
            f"n = {e.n:,} complete responses; KMO = {e.kmo:.2f}; Bartlett's test "
            f"χ²({e.bartlett.df:.0f}) = {e.bartlett.chi2:.1f}, {p_phrase(e.bartlett.p)}. "
            f"Parallel analysis ({pa.n_iter} simulations) suggests {pa.n_factors} "
            f"factor(s); {e.n_factors} were extracted ({e.method}, {e.rotation} rotation) "
            "to match the published structure.")
        section.add(Table(
            "efa_loadings", f"EFA loadings ({ctx.when(st)})",
            e.to_frame().rename_axis("item"),
            [Column.text("item", "Item")]
            + [Column.num(c, c, 2) for c in e.loadings.columns]
            + [Column.num("h2", "h²", 2)], index=True, min_cell=ctx.min_cell,
            note="Pattern loadings after rotation; h² = communality."))
        ctx.fig(section, "Scree plot", partial(plots.scree_plot, e), "scree",
                "Scree plot: observed eigenvalues and the parallel-analysis line.",
                "Scree plot with parallel analysis")
        ctx.fig(section, "Loadings heatmap", partial(plots.loadings_heatmap, e),
                "loadings", "Factor loadings (EFA).", "Heatmap of the factor loadings")
    section.heading("Confirmatory factor analysis")

    def run_cfa() -> Any:
        from ...cfa import cfa

        return cfa(sub, inst)

    c = ctx.run(section, "The confirmatory factor analysis", run_cfa)
    if c is not None:
        section.para(
            f"The published {len(subs)}-factor model fitted to n = {c.n:,} responses "
            "(maximum likelihood). Good fit: CFI ≥ .95, RMSEA ≤ .06, SRMR ≤ .08 "
            "(Hu & Bentler 1999); CFI ≥ .90 and RMSEA ≤ .08 are often taken as "
            "acceptable.")
        section.add(Table("cfa_fit", "CFA fit", pd.DataFrame([fit_rows(c.fit, "CFA")]),
                          FIT_COLUMNS, min_cell=ctx.min_cell))
        word = fit_word(c.fit)
        if word:
            section.para(f"By these cut-offs the published structure fits these data "
                         f"{word}.")
        ld = c.loadings
        if isinstance(ld, pd.DataFrame) and not ld.empty:
            section.add(Table(
                "cfa_loadings", "CFA loadings", ld,
                [Column.text("factor", "Factor"), Column.text("item", "Item"),
                 Column.num("estimate", "Estimate", 3), Column.num("se", "SE", 3),
                 Column.num("std", "Standardised", 3)], min_cell=ctx.min_cell))


SECTION = SectionSpec("factors", 120, lambda ctx: "Factor structure", _factors, appendix=True)
