"""Data quality: responses read, scoring flags, exclusions by the reader, responses per time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._context import Context
from .._tables import Column, Section, Table
from . import SectionSpec


def _exclusion_rows(exclusions: Any) -> list[dict[str, Any]]:
    """Exclusions recorded by a reader (``frame.attrs["exclusions"]``) as rows reason/count."""
    if exclusions is None:
        return []
    rows = []
    if isinstance(exclusions, pd.DataFrame):
        exclusions = exclusions.to_dict(orient="records")
    if isinstance(exclusions, Mapping):
        for reason, value in exclusions.items():
            if isinstance(value, (list, tuple, set, np.ndarray, pd.Index)):
                value = len(value)
            rows.append({"reason": str(reason), "count": value})
    elif isinstance(exclusions, (list, tuple)):
        for item in exclusions:
            if isinstance(item, Mapping):
                reason = item.get("reason") or item.get("why") or item.get("rule") or "excluded"
                count = item.get("count", item.get("n", item.get("rows")))
                if isinstance(count, (list, tuple, set)):
                    count = len(count)
                rows.append({"reason": str(reason), "count": count})
            else:
                rows.append({"reason": str(item), "count": None})
    return rows


def _count_table(rows: list[dict[str, Any]], min_cell: int, count: str = "count"
                 ) -> pd.DataFrame:
    """Counts 1..min_cell-1 blanked (library suppression, no margins); zeros kept."""
    from ...suppression import suppress

    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    counts = pd.to_numeric(frame[count], errors="coerce")
    small = counts.notna() & (counts > 0)
    out = frame.copy()
    out[count] = out[count].astype(object)
    out["suppressed"] = False
    out["primary_suppressed"] = False
    if small.any():
        part = suppress(frame[small].reset_index(drop=True), count, min_cell, margins=[],
                        keys=[c for c in frame.columns if c != count])
        out.loc[small, count] = part[count].to_numpy()
        out.loc[small, "suppressed"] = part["suppressed"].to_numpy()
        out.loc[small, "primary_suppressed"] = part["primary_suppressed"].to_numpy()
    return out


def _export_notes(ctx: Context, section: Section) -> None:
    """What the reader did to the export: the sheet(s) read, values carried within REDCap
    records, small groups folded (issue 8)."""
    attrs = ctx.frame.attrs
    if attrs.get("sheets"):
        skipped = attrs.get("sheets_skipped") or []
        section.para("Sheets read and stacked: " + ", ".join(s["name"] for s in attrs["sheets"])
                     + (f" (left out, other columns: {', '.join(skipped)})" if skipped else "")
                     + ".")
    elif attrs.get("sheet") is not None:
        section.para(f"Sheet read from the workbook: {attrs['sheet']}.")
    for col, n in (attrs.get("carried") or {}).items():
        section.para(f"'{ctx.header(col)}' is recorded on each record's first REDCap event "
                     f"only; it was carried to the record's other events ({n} rows).")
    for col, levels in (attrs.get("folded_groups") or {}).items():
        if levels:
            shown = ", ".join(ctx.show(col, v) for v in levels)
            section.para(f"'{ctx.header(col)}' groups with fewer than {ctx.min_cell} "
                         f"respondents in a {ctx.tw} ({shown}) and missing values are shown "
                         "together as one group 'other / not stated'.")


def _quality(ctx: Context, section: Section) -> None:
    exclusions = ctx.exclusions
    frame, time = ctx.frame, ctx.tw
    counts = ctx.scored.flag_counts()
    n = len(frame)
    rows = [{"check": "Responses (rows) read", "count": n}]
    if ctx.id is not None:
        rows.append({"check": f"Respondents (distinct '{ctx.id}')",
                     "count": int(frame[ctx.id].nunique())})
    rows.append({"check": f"Rows without a '{time}' value (left out)",
                 "count": int(frame[ctx.time].isna().sum())})
    rows += [
        {"check": "Not scorable: too many unanswered items (left out of that scale)",
         "count": counts.get("unscorable", 0)},
        {"check": "Answers outside the response scale (treated as unanswered)",
         "count": counts.get("out_of_range", 0)},
        {"check": "Same answer to every item (straightlining; kept, flagged)",
         "count": counts.get("straightlining", 0)},
    ]
    unfinished = frame.attrs.get("unfinished")
    if isinstance(unfinished, Mapping) and not unfinished.get("excluded"):
        # counted and named whatever the default (issue 8); excluded ones are listed below
        rows.append({"check": "Unfinished Qualtrics responses (kept; --exclude-unfinished "
                              "leaves them out)", "count": int(unfinished.get("n", 0))})
    table = _count_table(rows, ctx.min_cell)
    table = table.rename(columns={"check": "measure"})
    section.para(
        f"Every response was scored with the {ctx.inst.id} key: reverse-keyed items "
        f"reversed; a scale score needs at most {ctx.inst.max_missing_for(ctx.main)} "
        f"unanswered of the {len(ctx.inst.scales[ctx.main])} items for the "
        f"{ctx.name(ctx.main).lower()} (person-mean "
        "replacement of the rest); answers outside the scale count as unanswered. Flags never "
        f"remove a response. Counts from 1 to {ctx.min_cell - 1} are shown as suppressed.")
    section.add(Table("data_quality", "Responses and data-quality checks", table,
                      [Column.text("measure", "Check"), Column.int("count", "Responses")],
                      min_cell=ctx.min_cell))
    _export_notes(ctx, section)
    dropped = ctx.frame.attrs.get("dropped_columns")
    if dropped:
        section.para("Identifying columns removed when the file was read (never carried into "
                     "this report): " + ", ".join(map(str, dropped)) + ".")
    coded = ctx.frame.attrs.get("missing_codes") or ctx.frame.attrs.get("user_missing")
    if isinstance(coded, Mapping) and coded:
        total = sum(int(v) for v in coded.values() if isinstance(v, (int, np.integer)))
        section.para(f"{total:,} answer(s) held a missing-data code and were treated as "
                     "unanswered.")
    ex = _exclusion_rows(exclusions)
    if ex:
        section.add(Table(
            "exclusions", "Responses excluded when the file was read",
            _count_table(ex, ctx.min_cell).rename(columns={"reason": "measure"}),
            [Column.text("measure", "Reason"), Column.int("count", "Responses")],
            note="Recorded by the reader (e.g. survey previews in a Qualtrics export).",
            min_cell=ctx.min_cell))
    else:
        section.para("No responses were excluded when the file was read.")
    bt = ctx.tr.by_time
    per = bt[bt["scale"] == ctx.main][["time", "n", "suppressed", "primary_suppressed"]].copy()
    section.add(Table(
        "responses_by_time", f"Scored responses by {time} ({ctx.name(ctx.main)})", per,
        [ctx.vcol("time", ctx.time), Column.int("n", "Scored responses")],
        min_cell=ctx.min_cell))


SECTION = SectionSpec("quality", 60, lambda ctx: "Data quality", _quality)
