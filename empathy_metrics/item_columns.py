"""The instrument's items out of a read table: column map, item columns, numeric codes.

:func:`read_column_map` reads a YAML file linking item ids to column names.
:func:`items_frame` is the edge where raw columns become numeric item codes: it finds each
item's column, maps answer texts to codes through the instrument's labels, turns missing codes
into ``NaN`` and rejects anything else with an error naming the file, row and column;
:func:`item_arrays` gives the same codes column by column as stored (for the one-pass kernels
of :mod:`empathy_metrics._item_pass`). :func:`source_rows` turns a frame's index into the
rows a user sees in the file (the rule is described in :mod:`empathy_metrics.io`, which reads
the files and re-exports these names).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError
from .instruments import Instrument, normalise_label

__all__ = ["read_column_map", "items_frame", "item_arrays", "stack_codes", "source_rows"]


def source_rows(frame: pd.DataFrame) -> np.ndarray:
    """The file row of each row of ``frame`` (see the module notes on row numbers).

    ``attrs["first_row"] + index label`` when the index is an unnamed integer index (as
    :func:`read_responses` returns it), else ``attrs["first_row"] + position``. A frame
    without ``first_row`` is taken to come from a file with one header row (``first_row`` 2).
    """
    first = int(frame.attrs.get("first_row", 2))
    idx = frame.index
    if (idx.nlevels == 1 and idx.name is None and len(idx) > 0
            and pd.api.types.is_integer_dtype(idx.dtype)):
        pos = idx.to_numpy(dtype=np.int64)
    else:
        pos = np.arange(len(frame), dtype=np.int64)
    sheets = frame.attrs.get("sheets")
    if sheets:  # stacked sheets: rows are numbered within each sheet
        starts = np.array([sh["start"] for sh in sheets], dtype=np.int64)
        firsts = np.array([sh["first_row"] for sh in sheets], dtype=np.int64)
        k = np.clip(np.searchsorted(starts, pos, side="right") - 1, 0, len(sheets) - 1)
        return firsts[k] + pos - starts[k]
    return first + pos


def _file_label(frame: pd.DataFrame, source: str | None, label: Any) -> str | None:
    """``source``, with the sheet of row ``label`` when sheets were stacked."""
    sheets = frame.attrs.get("sheets")
    if not sheets or source is None:
        return source
    pos = int(label) if isinstance(label, (int, np.integer)) else 0
    name = [sh["name"] for sh in sheets if sh["start"] <= pos][-1]
    return f"{source} (sheet {name!r})"


# ---------------------------------------------------------------------------- reading


# ---------------------------------------------------------------------------- column map
def read_column_map(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a YAML column map ``item_id: column_name`` (one pair per line).

    Keys and values must be strings (numbers are taken as their text); two items may not
    share a column. Errors name the file and the line of the offending entry.

    >>> # map.yaml:
    >>> #   JSE1: Q1_1
    >>> #   JSE2: Q1_2
    """
    import yaml

    source = str(path)
    p = Path(path)
    if not p.exists():
        raise InputError("column map not found", file=source, hint="check the path")
    if p.is_dir():
        raise InputError("is a directory, not a column map file", file=source,
                         hint="give the path of the YAML file")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = p.read_text(encoding="cp1252", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", file=source) from None
    hint = "write one 'item_id: column_name' pair per line, e.g. 'JSE1: Q1_1'"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"is not valid YAML ({getattr(exc, 'problem', None) or exc})",
                         file=source, row=None if mark is None else mark.line + 1,
                         hint=hint) from None
    if node is None:
        raise InputError("the column map is empty", file=source, hint=hint)
    if not isinstance(node, yaml.MappingNode):
        raise InputError("the column map must be a mapping of item ids to column names",
                         file=source, row=node.start_mark.line + 1, hint=hint)
    out: dict[str, str] = {}
    used: dict[str, str] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        ok_key = isinstance(key_node, yaml.ScalarNode) and key_node.value != ""
        ok_value = isinstance(value_node, yaml.ScalarNode) and value_node.value != "" \
            and value_node.tag != "tag:yaml.org,2002:null"
        if not ok_key:
            raise InputError("an item id must be a single name", file=source, row=line,
                             hint=hint)
        key = key_node.value
        if not ok_value:
            raise InputError(f"the column for item {key!r} must be a single name",
                             file=source, row=line, column=key, hint=hint)
        value = value_node.value
        if key in out:
            raise InputError(f"item {key!r} is mapped twice", file=source, row=line,
                             column=key, hint="keep one line per item")
        if value in used:
            raise InputError(f"items {used[value]!r} and {key!r} are both mapped to column "
                             f"{value!r}", file=source, row=line, column=key,
                             hint="each item needs its own column")
        out[key] = value
        used[value] = key
    return out


# ---------------------------------------------------------------------------- item codes
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
                     source: str | None, rows: np.ndarray,
                     frame: pd.DataFrame | None = None) -> np.ndarray:
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
                + ("; add your own wordings under response_scale.label_aliases in the "
                   "instrument YAML" if inst.labels else "")
            )
            what = ("is neither a number nor one of the scale's labels" if inst.labels
                    else "is not a number")
            if source is None:  # data given in memory: name the index label, not a row
                raise InputError(f"the answer {raw!r} for item {iid} {what}",
                                 index=col.index[pos], column=colname, hint=hint)
            where = source if frame is None else _file_label(frame, source, col.index[pos])
            raise InputError(f"the answer {raw!r} for item {iid} {what}", file=where,
                             row=int(rows[pos]), column=colname, hint=hint)
    if inst.missing_codes:
        numeric_missing = [float(c) for c in inst.missing_codes if isinstance(c, (int, float))]
        out[np.isin(out, numeric_missing)] = np.nan
    return out


def item_arrays(
    frame: pd.DataFrame,
    instrument: Instrument,
    *,
    columns: Mapping[str, str] | None = None,
    source: str | None = None,
) -> list[np.ndarray]:
    """The instrument's item codes, one 1-D array per item id (instrument order), not copied.

    A column stored as a numpy integer or float array is returned as stored (a view, any
    real dtype; read-only under pandas' copy-on-write); other numeric columns (nullable
    dtypes) are converted to floats with missing as ``NaN``; text columns are read as codes
    or the scale's labels; numeric missing codes of the instrument become ``NaN`` (a new
    array). Errors as :func:`items_frame`. Scoring reads these arrays block by block
    (:mod:`empathy_metrics._item_pass`) instead of building the float matrix first.
    """
    source = source if source is not None else frame.attrs.get("source")
    found = _resolve_columns(frame, instrument, columns, source)
    arrays = []
    numeric_missing = [float(c) for c in instrument.missing_codes if isinstance(c, (int, float))]
    rows = None
    for iid, colname in found.items():
        col = frame[colname]
        if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iuf":
            values = col.to_numpy()
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = col.to_numpy(dtype=float, na_value=np.nan)
        else:
            if rows is None:
                rows = source_rows(frame)
            values = _codes_from_text(col, iid, colname, instrument, source, rows, frame)
        if numeric_missing and values.dtype.kind in "iuf":
            hit = np.isin(values, numeric_missing)
            if hit.any():
                values = np.where(hit, np.nan, values)
        arrays.append(values)
    return arrays


def stack_codes(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """``(n, k)`` float matrix of 1-D code arrays, column-major (as pandas stores a float
    block, so a DataFrame built on it with ``copy=False`` makes no further copy)."""
    n = len(arrays[0]) if arrays else 0
    out = np.empty((len(arrays), n))
    for j, values in enumerate(arrays):
        out[j] = values
    return out.T


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
    that is neither a number nor one of the scale's labels (the row is the file row, see
    :func:`source_rows`).
    """
    arrays = item_arrays(frame, instrument, columns=columns, source=source)
    return pd.DataFrame(stack_codes(arrays), index=frame.index, columns=instrument.item_ids,
                        copy=False)
