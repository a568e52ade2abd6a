"""Reading survey data: files and exports into a table of item codes.

(Readers for CSV/TSV/Excel/SPSS/Parquet and Qualtrics/REDCap exports are added here.)

:func:`items_frame` is the edge where raw columns become numeric item codes: it finds each
item's column, maps answer texts to codes through the instrument's labels, turns missing codes
into ``NaN`` and rejects anything else with an error naming the file, row and column.

Row numbers in errors are the line numbers a user sees in the file (the header is line 1);
readers record the line of the first data row in ``frame.attrs["first_row"]``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import InputError
from .instruments import Instrument, normalise_label

__all__ = ["items_frame"]


def _resolve_columns(frame: pd.DataFrame, inst: Instrument,
                     columns: Mapping[str, str] | None, source: str | None) -> dict[str, str]:
    names = [str(c) for c in frame.columns]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise InputError(
            f"duplicated column name(s): {', '.join(dupes)}",
            file=source, row=1, column=dupes[0],
            hint="rename the columns so each name appears once",
        )
    columns = dict(columns or {})
    unknown = [k for k in columns if k not in set(inst.item_ids)]
    if unknown:
        raise InputError(
            f"the column mapping names unknown item(s) {', '.join(unknown)}",
            file=source, hint=f"items of {inst.id} are {', '.join(inst.item_ids)}",
        )
    folded = {c.casefold().strip(): c for c in names}
    found: dict[str, str] = {}
    for iid in inst.item_ids:
        col = columns.get(iid, iid)
        if col in names:
            found[iid] = col
        elif col.casefold().strip() in folded:
            found[iid] = folded[col.casefold().strip()]
    if not found:
        raise InputError(
            f"none of the {len(inst.item_ids)} items of instrument '{inst.id}' "
            f"({inst.item_ids[0]} ... {inst.item_ids[-1]}) is a column of this file",
            file=source,
            hint="name the item columns by item id, or link them with a column mapping "
                 "(--map map.yaml, or columns= in Python)",
        )
    missing = [i for i in inst.item_ids if i not in found]
    if missing:
        raise InputError(
            f"{len(missing)} item column(s) of '{inst.id}' not found: {', '.join(missing)}",
            file=source,
            hint="add them, or link them to your column names with a column mapping "
                 "(--map map.yaml, or columns= in Python)",
        )
    return found


def _codes_from_text(col: pd.Series, iid: str, colname: str, inst: Instrument,
                     source: str | None, first_row: int) -> np.ndarray:
    labels = inst.label_codes
    missing_labels = {normalise_label(t) for t in inst.missing_labels}
    missing_codes = {normalise_label(str(c)) for c in inst.missing_codes}
    text = col.astype("string")
    out = np.full(len(col), np.nan)
    numeric = pd.to_numeric(text.str.strip(), errors="coerce")
    numeric = numeric.to_numpy(dtype=float, na_value=np.nan)
    values = text.to_numpy(dtype=object, na_value=None)
    for pos, raw in enumerate(values):
        if raw is None:
            continue
        key = normalise_label(raw)
        if key == "" or key in missing_labels or key in missing_codes:
            continue
        if not np.isnan(numeric[pos]):
            out[pos] = numeric[pos]
        elif key in labels:
            out[pos] = labels[key]
        else:
            labels_text = ", ".join(inst.labels.values())
            hint = (
                f"use a code {inst.response_min}..{inst.response_max}"
                + (f" or one of the labels: {labels_text}" if inst.labels else "")
                + "; mark missing answers as empty cells"
            )
            what = ("is neither a number nor one of the scale's labels" if inst.labels
                    else "is not a number")
            raise InputError(f"the answer {raw!r} for item {iid} {what}", file=source,
                             row=first_row + pos, column=colname, hint=hint)
    if inst.missing_codes:
        numeric_missing = [float(c) for c in inst.missing_codes if isinstance(c, (int, float))]
        out[np.isin(out, numeric_missing)] = np.nan
    return out


def items_frame(
    frame: pd.DataFrame,
    instrument: Instrument,
    *,
    columns: Mapping[str, str] | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """The instrument's item codes as floats, one column per item id, missing as ``NaN``.

    Out-of-range codes are kept (scoring flags them). Raises :class:`InputError` naming the
    file, row and column for a missing item column, duplicated column names, or an answer
    that is neither a number nor one of the scale's labels.
    """
    source = source if source is not None else frame.attrs.get("source")
    first_row = int(frame.attrs.get("first_row", 2))
    found = _resolve_columns(frame, instrument, columns, source)
    data = {}
    numeric_missing = [float(c) for c in instrument.missing_codes if isinstance(c, (int, float))]
    for iid, colname in found.items():
        col = frame[colname]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = col.to_numpy(dtype=float, na_value=np.nan)
            if numeric_missing:
                values = np.where(np.isin(values, numeric_missing), np.nan, values)
        else:
            values = _codes_from_text(col, iid, colname, instrument, source, first_row)
        data[iid] = values
    out = pd.DataFrame(data, index=frame.index, columns=instrument.item_ids)
    return out


def read_responses(path, *, format: str | None = None, **options) -> pd.DataFrame:  # noqa: A002
    """Read a survey data file into a DataFrame (provisional CSV-only version).

    The frame's ``attrs`` carry ``source`` (the path as given) and ``first_row`` (the file line
    of the first data row) so later errors can name the file, row and column.
    """
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=str(path), hint="check the path")
    frame = pd.read_csv(p)
    frame.attrs["source"] = str(path)
    frame.attrs["first_row"] = 2
    return frame
