"""Comparability across times: measurement invariance, the verdict every change in the report
rests on (longitudinal when students are followed; see :mod:`._comparability`)."""

from __future__ import annotations

from typing import Any

from .._context import Context
from .._tables import Section
from . import SectionSpec
from ._comparability import Comparability, comparability


def _build(ctx: Context, section: Section) -> Comparability | None:
    """Invariance across the times shown (the comparability verdict, returned for the summary
    and the findings)."""
    kept: list[Any] = [t for t in ctx.times if ctx.time_shown[t]]
    if not ctx.opts["invariance"]:
        section.para("Invariance was not tested (turned off in the options).")
        ctx.run.step()
        return None
    if len(kept) < 2:
        section.para(f"Invariance needs at least two {ctx.tw}s with {ctx.min_cell} or more "
                     "respondents.")
        ctx.run.step()
        return None
    return comparability(ctx, section, kept)


SECTION = SectionSpec("comparability", 125, lambda ctx: f"Comparability across {ctx.tw}s",
                      _build, appendix=True)
