"""The report's comparability verdict: measurement invariance across the times.

When student ids repeat across the time column, the times are not independent groups: the
verdict then rests on *longitudinal* invariance (:func:`empathy_metrics.cfa.invariance` with
``id=``; one model per subscale holding every time, each item's residuals correlated across
times, full-information ML so that students who left still count). A subscale whose wide model
would be too large (items x times above :data:`empathy_metrics._longitudinal.MAX_WIDE`) or
that has fewer than three items (a factor of its own is then not identified) is left to the
multi-group model of the whole instrument, whose caveat is stated. Without repeated ids the
multi-group model is the design. The section says which design each result comes from, and the
tables carry it in a ``design`` column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._context import Context
from .._tables import Column, Section, Table
from ._fit import FIT_COLUMNS, fit_rows

__all__ = ["Comparability", "Part", "plan", "comparability"]

#: Design names as written in the tables and the JSON-like ``to_dict``.
LONGITUDINAL, MULTIGROUP, MIXED = "longitudinal", "multigroup", "longitudinal+multigroup"
#: Fewest items of a subscale fitted as a factor of its own.
MIN_ITEMS = 3


@dataclass
class Part:
    """One invariance result behind the verdict: a subscale's longitudinal model, or the
    multi-group model of the whole instrument (``scale`` None) for ``covers``."""

    scale: str | None
    name: str
    design: str
    result: Any
    covers: list[str] = field(default_factory=list)

    @property
    def level(self) -> str:
        """``"scalar"``, ``"metric"`` or ``"configural"``: the strictest level that holds."""
        comp = self.result.comparisons
        if self.result.sound:
            return "scalar"
        return "metric" if bool(comp.iloc[0]["holds"]) else "configural"


@dataclass
class Comparability:
    """Whether scores are comparable across times, and from which design.

    Attributes
    ----------
    design
        ``"longitudinal"`` (every subscale tested with the same students followed),
        ``"multigroup"`` (times as independent groups) or ``"longitudinal+multigroup"``.
    parts
        The invariance results (:class:`Part`), in subscale order.
    sound
        Scalar invariance holds in every part (mean scores comparable across times).
    verdict
        One paragraph in words, naming the design.
    untested
        Subscales whose result is missing (the fit failed; see the section's notes).
    """

    design: str
    parts: list[Part]
    sound: bool
    verdict: str
    untested: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"design", "sound", "verdict", "parts": [{"scale", "design", "level",
        "invariance"}]}`` (each ``invariance`` is the result's own ``to_dict``)."""
        return {"design": self.design, "sound": self.sound, "verdict": self.verdict,
                "untested": list(self.untested),
                "parts": [{"scale": p.scale, "covers": p.covers, "design": p.design,
                           "level": p.level, "invariance": p.result.to_dict()}
                          for p in self.parts]}


def _subscales(ctx: Context) -> dict[str, list[str]]:
    """The factors of the model: the subscales, or the total for a one-scale instrument."""
    inst = ctx.inst
    subs = {s: list(inst.scales[s]) for s in inst.scales if s != "total"}
    return subs or {"total": list(inst.item_ids)}


def plan(ctx: Context, frame: pd.DataFrame, n_times: int
         ) -> tuple[list[str], dict[str, str], bool]:
    """Subscales tested longitudinally, the others with the reason, and whether ids repeat.

    Longitudinal when ``ctx.id`` is given, some id occurs at two or more times, the subscale
    has at least :data:`MIN_ITEMS` items, items x times is at most ``MAX_WIDE`` and every time
    has more students than that (with fewer, the saturated model of full-information ML does
    not exist when the students of the last year are also those with every answer).
    """
    from ..._longitudinal import MAX_WIDE, repeated_ids

    subs = _subscales(ctx)
    repeated = ctx.id is not None and repeated_ids(frame, ctx.id, ctx.time, None)
    if not repeated:
        return [], {s: "" for s in subs}, False
    long, rest = [], {}
    fewest = int(frame.groupby(ctx.time)[ctx.id].nunique().min())
    for s, items in subs.items():
        if len(items) < MIN_ITEMS:
            rest[s] = (f"{len(items)} items, too few for a factor of its own in a "
                       "longitudinal model")
        elif len(items) * n_times > MAX_WIDE:
            rest[s] = (f"{len(items)} items x {n_times} {ctx.tw}s = "
                       f"{len(items) * n_times} variables, more than the {MAX_WIDE} one "
                       "longitudinal model holds")
        elif fewest <= len(items) * n_times:
            rest[s] = (f"{fewest} students in the smallest {ctx.tw} for "
                       f"{len(items) * n_times} variables: too few to estimate the "
                       "longitudinal model")
        else:
            long.append(s)
    return long, rest, True


def _fit_parts(ctx: Context, section: Section, frame: pd.DataFrame, long: list[str],
               rest: dict[str, str], repeated: bool) -> tuple[list[Part], list[str]]:
    """Run the longitudinal models and, for the rest (including subscales whose
    longitudinal model fails: ``rest`` is updated), the multi-group model."""
    subs = _subscales(ctx)
    parts, failed = [], []
    for s in list(long):
        def run(s: str = s) -> Any:
            from ...cfa import invariance

            model = f"{s} =~ " + " + ".join(subs[s])
            return invariance(frame, ctx.inst, ctx.time, id=ctx.id, model=model,
                              missing="fiml", label=ctx.tw)

        res = ctx.run(section, f"Longitudinal invariance of {ctx.name(s)}", run)
        if res is None:  # the multi-group model stands in (the note says why)
            rest[s] = "the longitudinal model could not be fitted, see the notes"
        else:
            parts.append(Part(s, ctx.name(s), LONGITUDINAL, res, [s]))
    if rest:
        def run_mg() -> Any:
            from ...cfa import invariance

            return invariance(frame, ctx.inst, ctx.time, label=ctx.tw)

        res = ctx.run(section, f"Invariance across {ctx.tw}s", run_mg)
        if res is None:
            failed += list(rest)
        else:
            if repeated:  # the whole-instrument model stands in for these subscales
                name = _names(ctx, sorted(rest, key=list(subs).index))
            else:
                name = "All subscales" if len(subs) > 1 else ctx.name(next(iter(subs)))
            parts.append(Part(None, name, MULTIGROUP, res,
                              sorted(rest, key=list(subs).index)))
    return parts, failed


def _names(ctx: Context, scales: list[str]) -> str:
    names = [ctx.name(s) for s in scales]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _design_text(ctx: Context, long: list[str], rest: dict[str, str], repeated: bool) -> str:
    """What was fitted, in words (the first paragraph)."""
    time = ctx.tw
    text = ""
    if long:
        text = (f"The same students were followed across {time}s, so comparability is tested "
                f"with longitudinal invariance: one model per subscale ({_names(ctx, long)}). "
                f"Each model holds every {time} (a "
                f"factor per {time}), correlates each item's residuals across {time}s (what a "
                f"student carries from one {time} to the next) and is fitted to every answer "
                "by full-information maximum likelihood, so students who stopped answering "
                "still count (answers assumed missing at random). Configural, metric (equal "
                f"loadings) and scalar (equal loadings and intercepts) models across {time}s "
                "are compared.")
    if rest and repeated:
        why = ("; ".join(f"{ctx.name(s)}: {r}" for s, r in rest.items()) if len(rest) > 1
               else next(iter(rest.values())))
        text += (f" For {_names(ctx, list(rest))} ({why}) the multi-group model of the whole "
                 f"instrument across {time}s is used instead: it treats the {time}s as "
                 f"independent groups although students appear in several {time}s, so its "
                 "tests are approximate.")
    elif rest:
        who = ("no student id links them" if ctx.id is None
               else f"no id in '{ctx.id}' occurs at more than one {time}")
        text = (f"Configural, metric (equal loadings) and scalar (equal loadings and "
                f"intercepts) models across {time}s, fitted as independent groups "
                f"(multi-group invariance): each {time}'s respondents are different students "
                f"({who}).")
    return text.strip() + (" Invariance is retained when CFI drops by no more than .01 "
                           "(Cheung & Rensvold 2002).")


_LEVEL_WORDS = {"scalar": "scalar invariance holds",
                "metric": "metric but not scalar invariance",
                "configural": "not even metric invariance"}


def _verdict(ctx: Context, parts: list[Part], failed: list[str], design: str,
             repeated: bool) -> str:
    """The verdict in one paragraph, naming the design of each result."""
    time = ctx.tw
    head = {LONGITUDINAL: f"Same students followed across {time}s: longitudinal invariance",
            MULTIGROUP: (f"Same students followed across {time}s, but the longitudinal model "
                         "would be too large: multi-group invariance (approximate)")
            if repeated else (f"{time.capitalize()}s fitted as independent groups: "
                              "multi-group invariance"),
            MIXED: f"Same students followed across {time}s: longitudinal invariance where "
                   "the model allows, multi-group (approximate) otherwise"}[design]
    bits = [f"{p.name}: {_LEVEL_WORDS[p.level]}"
            + (" (multi-group model, approximate)" if design == MIXED
               and p.design == MULTIGROUP else "") for p in parts]
    text = f"{head}. " + "; ".join(bits) + "."
    if failed:
        text += f" Not tested (the model could not be fitted): {_names(ctx, failed)}."
    if parts and not failed and all(p.result.sound for p in parts):
        text += f" Mean scores can be compared across {time}s."
    else:
        text += (f" Differences in mean scores across {time}s may partly reflect how students "
                 "read the items; interpret them with care.")
    return text


_FIT_COLUMNS_HEAD = [Column.text("scale_name", "Scale"), Column.text("design", "Design")]


def _tables(ctx: Context, section: Section, parts: list[Part]) -> None:
    """The fit and comparison tables, one block of rows per part, with the design."""
    rows, comps = [], []
    for p in parts:
        label = p.name + (" (whole-instrument model)" if p.scale is None
                          and p.covers != list(_subscales(ctx)) else "")
        for m in ("configural", "metric", "scalar"):
            rows.append({"scale": p.scale or "all", "scale_name": label, "design": p.design,
                         **fit_rows(p.result.models[m].fit, m)})
        for r in p.result.comparisons.to_dict("records"):
            comps.append({"scale": p.scale or "all", "scale_name": label,
                          "design": p.design, **r})
    time = ctx.tw
    section.add(Table("invariance_fit", f"Invariance models across {time}s",
                      pd.DataFrame(rows), _FIT_COLUMNS_HEAD + FIT_COLUMNS,
                      min_cell=ctx.min_cell))
    cols = _FIT_COLUMNS_HEAD + [
        Column.text("comparison", "Comparison"), Column.num("chisq_diff", "Δχ²", 3),
        Column.int("df_diff", "Δdf"), Column.p("pvalue"),
        Column.num("delta_cfi", "ΔCFI", 3, True), Column.num("delta_rmsea", "ΔRMSEA", 3, True),
        Column("Invariance holds", lambda r: "yes" if r.get("holds") else "no",
               numeric=False)]
    section.add(Table("invariance_comparisons", "Comparisons of nested models",
                      pd.DataFrame(comps), cols, min_cell=ctx.min_cell, index=False))


def comparability(ctx: Context, section: Section, kept: list[Any]) -> Comparability | None:
    """Fit the invariance models across the ``kept`` times and write the subsection."""
    frame = ctx.frame[ctx.frame[ctx.time].isin(kept)]
    long, rest, repeated = plan(ctx, frame, len(kept))
    parts, failed = _fit_parts(ctx, section, frame, long, rest, repeated)
    long = [p.scale for p in parts if p.design == LONGITUDINAL]
    order = list(_subscales(ctx))
    rest = {s: rest[s] for s in sorted(rest, key=order.index)}
    if not parts:
        section.para(f"Whether scores can be compared across {ctx.tw}s could not be checked "
                     "(see the note below); read the changes above with that in mind.")
        return None
    design = LONGITUDINAL if not rest else MULTIGROUP if not long else MIXED
    section.para(_design_text(ctx, long, rest, repeated))
    _tables(ctx, section, parts)
    for p in parts:
        kind = ("longitudinal model" if p.design == LONGITUDINAL
                else "multi-group model of the whole instrument" if repeated
                else "multi-group model")
        section.para(f"{p.name} ({kind}): {p.result.verdict}")
    verdict = _verdict(ctx, parts, failed, design, repeated)
    sound = bool(parts) and not failed and all(p.result.sound for p in parts)
    section.para(("Conclusion: scalar invariance holds, so mean scores can be compared across "
                  f"{ctx.tw}s — the changes in this report are changes in empathy as the "
                  "scale measures it, not changes in how students read the items.")
                 if sound else
                 ("Conclusion: scalar invariance is not shown for every subscale by the usual "
                  f"cut-offs, so differences in mean scores across {ctx.tw}s may partly "
                  "reflect changes in how students respond to the items; interpret the "
                  "changes with care."))
    return Comparability(design, parts, sound, verdict, failed)
