"""Reading Excel workbooks for :func:`empathy_metrics.io.read_responses`: which sheet(s), and
each sheet's cells into a frame.

Workbooks kept by programme offices often hold a notes sheet first, or one sheet per year with
the same columns. So a workbook with data on several sheets is never read silently from its
first sheet: the caller names the sheet (by name first, then by 0-based number) or asks for
``"all"``, which stacks the sheets sharing the same columns and adds a ``sheet`` column
(sheets with other columns, such as a notes sheet, are left out and named). Sheets without any
cell value are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["read_xlsx", "ALL_SHEETS", "SHEET_COLUMN"]

#: ``sheet=`` value that stacks every sheet holding data.
ALL_SHEETS = "all"
#: Column added by ``sheet="all"``: the sheet each row comes from.
SHEET_COLUMN = "sheet"

_HINT_SHEET = ("choose one with --sheet NAME (sheet= in Python), or --sheet all to stack "
               "sheets that have the same columns")


def read_xlsx(p: Path, source: str, sheet: str | int | None,
              attrs: dict[str, Any]) -> tuple[pd.DataFrame, int, str | None]:
    """The chosen sheet(s) as one frame, its first data row and its Qualtrics layout."""
    import openpyxl

    with open(p, "rb") as fh:  # a file object: openpyxl then ignores the suffix (format=)
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # zip/xml/openpyxl errors of a corrupt or foreign file
            raise InputError(f"cannot be read as an Excel .xlsx workbook "
                             f"({type(exc).__name__})", file=source,
                             hint="open it in Excel and save it again as .xlsx, or export "
                                  "the data as .csv") from None
        try:
            chosen = _choose(wb, source, sheet)
            tables = [(name, _sheet_rows(wb[name], source)) for name in chosen]
        finally:
            wb.close()
    if len(tables) == 1 and not (isinstance(sheet, str) and sheet.strip().casefold()
                                 == ALL_SHEETS):
        name, rows = tables[0]
        attrs["sheet"] = name
        return _frame(rows, source, name)
    return _stack(tables, source, attrs)


def _listing(names: list[str]) -> str:
    return ", ".join(f"{i}: {n!r}" for i, n in enumerate(names))


def _has_data(ws: Any) -> bool:
    for row in ws.iter_rows(values_only=True):
        if any(v is not None and not (isinstance(v, str) and not v.strip()) for v in row):
            return True
    return False


def _choose(wb: Any, source: str, sheet: str | int | None) -> list[str]:
    names = list(wb.sheetnames)
    if sheet is None or (isinstance(sheet, str) and sheet.strip().casefold() == ALL_SHEETS):
        with_data = [n for n in names if _has_data(wb[n])]
        if not with_data:
            raise InputError("no sheet of the workbook holds any data", file=source, row=1,
                             hint="the first row must hold the column names and the data "
                                  "rows follow")
        if sheet is None and len(with_data) > 1:
            raise InputError(f"the workbook has {len(with_data)} sheets with data "
                             f"({', '.join(repr(n) for n in with_data)}); which one holds "
                             "the responses?", file=source, hint=_HINT_SHEET)
        return with_data
    if isinstance(sheet, (int, np.integer)) and not isinstance(sheet, bool):
        if not 0 <= int(sheet) < len(names):
            raise InputError(f"there is no sheet number {sheet} (the workbook has "
                             f"{len(names)})", file=source,
                             hint=f"sheets are {_listing(names)}; numbers start at 0")
        return [names[int(sheet)]]
    text = str(sheet)
    if text in names:
        return [text]
    folded = [n for n in names if n.strip().casefold() == text.strip().casefold()]
    if len(folded) == 1:
        return folded
    if text.strip().isdigit():
        return _choose(wb, source, int(text.strip()))
    raise InputError(f"there is no sheet {text!r}", file=source,
                     hint=f"sheets are {_listing(names)}; give a name or a number (from 0)")


def _sheet_rows(ws: Any, source: str) -> list[list[Any]]:
    try:
        rows = [list(r) for r in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
    except Exception as exc:
        raise InputError(f"cannot be read as an Excel .xlsx workbook "
                         f"({type(exc).__name__})", file=source,
                         hint="open it in Excel and save it again as .xlsx") from None
    while rows and all(v is None or (isinstance(v, str) and not v.strip()) for v in rows[-1]):
        rows.pop()
    return rows


def _frame(rows: list[list[Any]], source: str, name: str,
           stacked: bool = False) -> tuple[pd.DataFrame, int, str | None]:
    from .io import _check_duplicates, _legacy_names, _qualtrics_layout

    where = f"{source} (sheet {name!r})" if stacked else source
    if not rows or all(v is None for v in rows[0]):
        raise InputError(f"sheet {name!r} is empty (no column names on row 1)",
                         file=source, row=1,
                         hint="the first row must hold the column names and the data rows "
                              "follow")
    width = max(len(r) for r in rows)
    header = rows[0] + [None] * (width - len(rows[0]))
    used = [j for j in range(width) if header[j] is not None
            or any(j < len(r) and r[j] is not None for r in rows[1:])]
    width = (used[-1] + 1) if used else 0
    rows = [(r + [None] * (width - len(r)))[:width] for r in rows]
    layout = _qualtrics_layout(rows[:3])
    names = _legacy_names(rows[0], rows[1]) if layout == "legacy" else rows[0]
    names = ["" if v is None else str(v) for v in names]
    _check_duplicates(names, where, row=1, where="excel")
    names = [n if n else f"Unnamed: {j}" for j, n in enumerate(names)]
    skip = {"3-row": 3, "legacy": 2}.get(layout or "", 1)
    frame = pd.DataFrame(rows[skip:], columns=names)
    if len(frame):
        frame = frame.infer_objects()
        frame = frame.apply(_excel_column)
    return frame, skip + 1, layout


def _stack(tables: list[tuple[str, list[list[Any]]]], source: str,
           attrs: dict[str, Any]) -> tuple[pd.DataFrame, int, str | None]:
    """Sheets with the same columns (names compared after trimming) one under the other.

    The largest set of sheets sharing their columns is stacked (the first such set on a
    tie); sheets with other columns (a notes sheet) are left out and named in
    ``attrs["sheets_skipped"]``.
    """
    read = []
    for name, rows in tables:
        frame, first_row, layout = _frame(rows, source, name, stacked=True)
        frame.columns = [c.strip() for c in map(str, frame.columns)]
        read.append((name, frame, first_row, layout))
    groups: dict[frozenset[str], list[int]] = {}
    for k, (_, frame, _, _) in enumerate(read):
        groups.setdefault(frozenset(frame.columns), []).append(k)
    chosen = max(groups.values(), key=len)  # max keeps the first on a tie
    first_cols = list(read[chosen[0]][1].columns)
    if SHEET_COLUMN in first_cols:
        raise InputError(f"sheet {read[chosen[0]][0]!r} already has a column "
                         f"{SHEET_COLUMN!r}", file=source, row=1, column=SHEET_COLUMN,
                         hint="rename that column to stack the sheets")
    frames, sheets, start = [], [], 0
    for k in chosen:
        name, frame, first_row, _ = read[k]
        frame = frame[first_cols]
        frame.insert(0, SHEET_COLUMN, name)
        sheets.append({"name": name, "start": start, "first_row": first_row})
        start += len(frame)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out = out.apply(_excel_column)
    attrs["sheet"] = ALL_SHEETS
    attrs["sheets"] = sheets
    skipped = [read[k][0] for k in range(len(read)) if k not in chosen]
    if skipped:
        attrs["sheets_skipped"] = skipped
    return out, sheets[0]["first_row"], read[chosen[0]][3]


def _excel_column(col: pd.Series) -> pd.Series:
    """An object column of cell values: blank text as missing, all-number columns as numbers."""
    if col.dtype != object:
        return col
    col = col.where(~col.map(lambda v: isinstance(v, str) and not v.strip()), None)
    present = col.dropna()
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in present):
        return pd.to_numeric(col)
    return col
