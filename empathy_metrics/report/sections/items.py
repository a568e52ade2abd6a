"""Item-level change from the reference time: heatmap and table."""

from __future__ import annotations

from functools import partial

from .._context import Context
from .._tables import Column, Section, Table, fmt_num
from . import SectionSpec


def _items(ctx: Context, section: Section) -> None:
    from ... import plots

    tr = ctx.tr
    if tr.item_change is None:
        section.unavailable = "Item-level change needs the item columns in the data."
        return
    lo, hi = ctx.inst.response_min, ctx.inst.response_max
    section.para(
        f"Mean change of each item from {ctx.when(tr.reference)}, in item points "
        f"(items {lo}–{hi}, after reverse keying, so a negative value always means less "
        f"empathy). {ctx.header(ctx.time)}s with fewer than {ctx.min_cell} answers are blank.")
    ctx.fig(section, "Item heatmap", partial(plots.item_change_heatmap, tr), "item_change",
            f"Item mean change from {ctx.when(tr.reference)} "
            "(orange = decline, purple = increase).",
            "Heatmap of item mean change")
    change = tr.item_change.copy()
    change.columns = [str(c) for c in change.columns]
    big = ctx.largest_change()
    if big is not None and str(big) in change.columns:
        col = change[str(big)].dropna().sort_values()
        if len(col):
            down = ", ".join(f"{item} ({fmt_num(v, 2)})" for item, v in col.head(3).items())
            section.para(f"Items that declined most by {ctx.when(big)}: {down} item "
                         "points. Item wording is not shipped with the package (copyright); "
                         "see the instrument's manual for the text of each item.")
    # the CSV/XLSX columns carry the times' labels too (the defaults keep the codes)
    change.columns = [ctx.show(ctx.time, c) for c in change.columns]
    section.add(Table(
        "item_change", f"Item mean change from {ctx.when(tr.reference)}", change,
        [Column.text("item", "Item")]
        + [Column.num(c, f"{ctx.tw} {c}", 2, True) for c in change.columns],
        index=True, min_cell=ctx.min_cell))


SECTION = SectionSpec("items", 130, lambda ctx: "Item-level change", _items, appendix=True)
