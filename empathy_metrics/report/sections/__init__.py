"""The report's sections, one module each: its analysis calls, words, tables and figures.

Every module of this package defines ``SECTION``, a :class:`SectionSpec`: an id, its place in
the report (``order``), a title (a function of the :class:`~empathy_metrics.report._context.
Context`, since titles name the time column) and ``build(ctx, section)``, which fills the
:class:`~empathy_metrics.report._tables.Section` and returns whatever later sections may read
(``ctx.results[id]``). ``needs`` names the sections whose results ``build`` reads; they are
built first. :func:`section_specs` finds the modules, so adding a section is adding one module
(and its test); the builder only composes them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["SectionSpec", "section_specs", "build_order"]


@dataclass(frozen=True)
class SectionSpec:
    """One section of the report.

    Attributes
    ----------
    id
        HTML anchor, ``Report.section(id)`` key and key of ``ctx.results``.
    order
        Position in the report (ascending).
    title
        ``title(ctx) -> str``.
    build
        ``build(ctx, section) -> result``; fills ``section`` (paragraphs, tables, figures,
        notes); its result is stored in ``ctx.results[id]``.
    needs
        Ids of sections whose results ``build`` reads (built before it); ``"*"``: built
        after every other section.
    appendix
        Part of the technical appendix (after the main sections), not of the main body.
    """

    id: str
    order: int
    title: Callable[[Any], str]
    build: Callable[[Any, Any], Any]
    needs: tuple[str, ...] = ()
    appendix: bool = False


def section_specs() -> list[SectionSpec]:
    """Every section of this package, in report order."""
    specs = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(module, "SECTION", None)
        if isinstance(spec, SectionSpec):
            specs.append(spec)
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):  # pragma: no cover - a programming error
        raise RuntimeError(f"duplicate report section ids: {sorted(ids)}")
    return sorted(specs, key=lambda s: (s.order, s.id))


def build_order(specs: list[SectionSpec], late: tuple[str, ...] = ()) -> list[SectionSpec]:
    """``specs`` reordered so that every section comes after the sections it needs
    (otherwise in report order); the ``late`` sections, and those needing them, come after
    every other section that can be built (the builder collects the sections it built in a
    child process as late as it can)."""
    known = {s.id for s in specs}
    waits = set(late)
    while True:  # sections needing a late one, directly or not, are late too
        more = {s.id for s in specs if waits.intersection(s.needs)} - waits
        if not more:
            break
        waits |= more
    done: set[str] = set()
    out: list[SectionSpec] = []
    pending = list(specs)
    while pending:
        ready = [s for s in pending
                 if all(n in done or n not in known for n in s.needs)
                 and ("*" not in s.needs or len(pending) == 1
                      or all("*" in p.needs for p in pending))]
        if not ready:  # pragma: no cover - a programming error
            raise RuntimeError("report sections need each other: "
                               + ", ".join(s.id for s in pending))
        first = next((s for s in ready if s.id not in waits), ready[0])
        out.append(first)
        done.add(first.id)
        pending.remove(first)
    return out
