"""Reading survey data: files and survey-tool exports into a table, and that table into item codes.

:func:`read_responses` reads CSV, TSV (and delimited ``.txt``), Excel ``.xlsx``, SPSS ``.sav``
and Parquet files, and recognises the exports of Qualtrics (three header rows, or the legacy
two) and REDCap (raw or label exports, longitudinal and repeating). The step after reading --
the instrument's items out of the table (:func:`read_column_map`, :func:`items_frame`, the
edge where raw columns become numeric item codes, and :func:`source_rows`) -- lives in
:mod:`empathy_metrics.item_columns`; those names are re-exported here.

Row numbers
-----------
Errors name rows as a user sees them in a spreadsheet: for text and Excel files the header is
row 1, so the first data row of a plain CSV is row 2 and that of a Qualtrics export (three
header rows) is row 4; a quoted value spanning several lines counts as one row, as in a
spreadsheet. SPSS and Parquet files have no header row: row 1 is the first case.

One mechanism links a frame's rows to those numbers: ``frame.attrs["first_row"]`` is the row
of the first data row, and the frame's **index is each row's 0-based position among the
file's data rows**. Rows the reader drops (survey previews, unfinished responses when asked,
blank lines) leave gaps in the index, so the file row of any row is
``attrs["first_row"] + index label`` -- also after the caller filters or sorts the frame.
:func:`source_rows` applies the rule (a frame whose index is not an unnamed integer index,
e.g. after ``set_index("id")``, falls back to its row positions).

Frame attributes set by :func:`read_responses`
-----------------------------------------------
``source``
    The path as given. ``first_row``: see above.
``format``
    What the file is: ``"qualtrics"``, ``"redcap"``, or else the file type (``"csv"``,
    ``"tsv"``, ``"xlsx"``, ``"sav"``, ``"parquet"``). ``file_format`` is always the file type.
``exclusions``
    ``{reason: number of rows}`` for every row the reader left out, e.g.
    ``{"survey preview": 2, "unfinished": 5, "empty row": 1}``; each row counted once, under
    the first reason that applies in that order. Empty when nothing was left out.
``encoding``
    The text encoding used (text files only).
Also, when they apply: ``qualtrics_header`` (``"3-row"`` or ``"legacy"``),
``dropped_columns`` (identifying Qualtrics columns removed), ``redcap`` (the REDCap columns
found), ``missing_codes`` (``{column: number of cells}`` set to missing by
``missing_codes=``), and for SPSS ``value_labels``, ``variable_labels`` and ``user_missing``
(``{column: number of declared-missing codes set to NaN}``).
``unfinished``
    Qualtrics only, always: ``{"n", "rows", "excluded"}`` -- the unfinished responses
    (``Finished`` 0, or ``Progress`` < 100), their file rows, and whether they were left out.
``carried``
    REDCap longitudinal exports: ``{column: cells filled}`` for values recorded on a record's
    first event only (e.g. gender, entering class) and carried to its other events.
``sheet`` / ``sheets``
    Excel: the sheet read; with ``sheet="all"``, ``"all"`` and a list of
    ``{"name", "start", "first_row"}`` (rows of each sheet are numbered within that sheet),
    and ``sheets_skipped`` for sheets with other columns.

Column names are trimmed of surrounding spaces on read; :func:`resolve_column` finds the
column a user means ignoring case when that is unambiguous.
"""

from __future__ import annotations

import ast
import codecs
import csv
import io as _io
import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._exports import carry_within_records, resolve_column, resolve_columns, unfinished_mask
from .errors import InputError
from .instruments import Instrument
from .item_columns import items_frame, read_column_map, source_rows

__all__ = ["read_responses", "read_column_map", "items_frame", "source_rows", "resolve_column",
           "resolve_columns", "SUFFIXES"]

#: File suffix -> file type read by :func:`read_responses`.
SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "txt",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".sav": "sav",
    ".zsav": "sav",
    ".parquet": "parquet",
    ".pq": "parquet",
}

# values accepted by read_responses(format=...) -> (file type or None for "from suffix", kind)
_FORMATS: dict[str, tuple[str | None, str | None]] = {
    "csv": ("csv", None),
    "tsv": ("tsv", None),
    "txt": ("txt", None),
    "text": ("txt", None),
    "xlsx": ("xlsx", None),
    "excel": ("xlsx", None),
    "sav": ("sav", None),
    "spss": ("sav", None),
    "parquet": ("parquet", None),
    "qualtrics": (None, "qualtrics"),
    "redcap": (None, "redcap"),
}

_SAMPLE_BYTES = 1 << 20
_FALLBACK_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")

# Qualtrics columns that identify a respondent (current and legacy names): dropped on read.
_QUALTRICS_IDENTIFYING = (
    "IPAddress", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
    "LocationLatitude", "LocationLongitude", "Name", "EmailAddress",
)
_REDCAP_RAW = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
               "redcap_data_access_group", "redcap_survey_identifier")
_REDCAP_LABELS = ("Event Name", "Repeat Instrument", "Repeat Instance", "Data Access Group",
                  "Survey Identifier")


# ---------------------------------------------------------------------------- row numbers
def read_responses(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,  # noqa: A002 - the user-facing name
    sheet: str | int | None = None,
    exclude_unfinished: bool = False,
    exclude_previews: bool = True,
    encoding: str | None = None,
    keep_identifying: bool = False,
    missing_codes: Sequence[str | float] | None = None,
    instrument: Instrument | str | None = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a survey data file into a DataFrame, one row per response.

    Parameters
    ----------
    path
        The file. Its type comes from the suffix: ``.csv``; ``.tsv``/``.tab`` (tab
        separated); ``.txt`` (delimiter sniffed among ``, ; tab |``); ``.xlsx``; ``.sav``;
        ``.parquet``. A ``.csv`` whose header holds no comma but semicolons or tabs is read
        with that delimiter. The file is only read, never modified.
    format
        Override the suffix: ``"csv"``, ``"tsv"``, ``"txt"``, ``"xlsx"``, ``"sav"``,
        ``"parquet"``; or ``"qualtrics"`` / ``"redcap"`` to require that export (file type
        still from the suffix, text when the suffix is unknown).
    sheet
        Excel only: a sheet name (matched exactly, else ignoring case and surrounding
        spaces), else a 0-based number (also as text, ``"2"``); ``"all"`` stacks the sheets
        that hold data with the same columns and adds a ``sheet`` column.
        Default: the only sheet holding data; a workbook with data on several sheets is
        refused, naming them.
    exclude_unfinished
        Qualtrics: drop responses with ``Finished`` 0/False (or, without a ``Finished``
        column, ``Progress`` below 100).
    exclude_previews
        Qualtrics: drop survey previews (``Status`` "Survey Preview" or 1,
        ``DistributionChannel`` "preview").
    encoding
        Text files: the encoding. Default: UTF-8 (with or without BOM), UTF-16 when the file
        starts with its BOM, else Windows-1252 / Latin-1.
    keep_identifying
        Qualtrics: keep the identifying columns (IP address, recipient name and e-mail,
        location) that are otherwise dropped on read.
    missing_codes
        Values that mean "missing" in every column, such as REDCap's project missing-data
        codes (``["UNK", "-999"]``): set to missing and counted per column in
        ``attrs["missing_codes"]``. Text is matched ignoring case and surrounding spaces,
        numbers by value.
    instrument, columns
        REDCap longitudinal exports: the instrument (and optional item id -> column map)
        whose item columns are answered at every event. Values recorded on a record's first
        event only in the *other* columns (gender, entering class) are then carried to the
        record's other events and listed in ``attrs["carried"]``. Without an instrument
        nothing is carried (an item skipped at every later event would look the same).

    Returns
    -------
    pandas.DataFrame
        The columns as in the file (names from the header row), values as parsed (numbers as
        numbers, text as text, empty as missing); SPSS user-missing codes as missing,
        labelled codes kept as codes. The index is the 0-based data-row position (see the
        module notes); ``attrs`` as listed there.

    Raises
    ------
    InputError
        Missing path, a directory, an empty file or one without data rows, an unsupported
        type, a file that cannot be parsed (corrupt, ragged rows), duplicated column names --
        each naming the file and, where known, the row and column.
    """
    source = str(path)
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=source,
                         hint="check the path and the current directory")
    if p.is_dir():
        raise InputError("is a directory, not a data file", file=source,
                         hint="give the path of the data file itself")
    file_type, kind = _file_type(p, source, format)
    if sheet is not None and file_type != "xlsx":
        raise InputError("sheet= applies only to Excel (.xlsx) files", file=source,
                         hint="leave sheet out for this file")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", file=source,
                         hint="check the file's permissions") from None
    if size == 0:
        raise InputError("the file is empty (0 bytes)", file=source, row=1,
                         hint="export the survey data again; the first row must hold the "
                              "column names and the data rows follow")
    attrs: dict[str, Any] = {}
    if file_type in ("csv", "tsv", "txt"):
        frame, first_row, qualtrics = _read_text(p, source, file_type, encoding, attrs)
    elif file_type == "xlsx":
        from ._excel import read_xlsx

        frame, first_row, qualtrics = read_xlsx(p, source, sheet, attrs)
    elif file_type == "sav":
        frame, first_row, qualtrics = _read_sav(p, source, attrs)
    else:
        frame, first_row, qualtrics = _read_parquet(p, source, attrs)
    if qualtrics:
        attrs["qualtrics_header"] = qualtrics
    frame = _finish(frame, source=source, file_type=file_type, kind=kind, first_row=first_row,
                    qualtrics_header=qualtrics, attrs=attrs,
                    exclude_unfinished=exclude_unfinished, exclude_previews=exclude_previews,
                    keep_identifying=keep_identifying, missing_codes=missing_codes)
    redcap = frame.attrs.get("redcap")
    if instrument is not None and redcap is not None and redcap["columns"]:
        from .instruments import load_instrument

        inst = load_instrument(instrument)
        mapped = dict(columns or {})
        answered = {mapped.get(i, i) for i in inst.item_ids}
        saved = dict(frame.attrs)
        frame, carried = carry_within_records(frame, redcap["id_column"],
                                              skip=[*redcap["columns"], *answered])
        frame.attrs.update(saved)
        if carried:
            frame.attrs["carried"] = carried
    return frame


def _file_type(p: Path, source: str, fmt: str | None) -> tuple[str, str | None]:
    supported = ", ".join(sorted(SUFFIXES))
    kind = None
    if fmt is not None:
        key = str(fmt).strip().lower()
        if key not in _FORMATS:
            raise InputError(f"unknown format {fmt!r}", file=source,
                             hint=f"use one of {', '.join(_FORMATS)}")
        file_type, kind = _FORMATS[key]
        if file_type is not None:
            return file_type, kind
    suffix = p.suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix], kind
    if kind is not None:  # qualtrics/redcap with an odd suffix: a delimited text export
        return "txt", kind
    hints = {
        ".xls": "save it from Excel as .xlsx (Excel Workbook)",
        ".ods": "save it as .xlsx or .csv",
        ".dta": "save it as .sav, .csv or .parquet",
        ".json": "save it as .csv",
    }
    raise InputError(
        f"unsupported file type {suffix or '(no suffix)'!r}", file=source,
        hint=hints.get(suffix, f"supported suffixes are {supported}; or say the format "
                               "(format= in Python, --format in the CLI where offered)"),
    )


# ---------------------------------------------------------------------------- text files
def _detect_encoding(p: Path, source: str, encoding: str | None) -> tuple[list[str], str]:
    """Candidate encodings (first one decodes the sample) and the decoded sample."""
    with open(p, "rb") as fh:
        raw = fh.read(_SAMPLE_BYTES)
    final = len(raw) < _SAMPLE_BYTES
    if encoding is not None:
        candidates = [encoding]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        _check_binary(raw, source)
        candidates = list(_FALLBACK_ENCODINGS)
    for i, enc in enumerate(candidates):
        try:
            decoder = codecs.getincrementaldecoder(enc)()
        except LookupError:
            raise InputError(f"unknown encoding {enc!r}", file=source,
                             hint="use e.g. utf-8, cp1252 or latin-1") from None
        try:
            return candidates[i:], decoder.decode(raw, final=final)
        except UnicodeDecodeError as exc:
            if len(candidates) == 1:
                raise InputError(f"cannot be decoded as {enc} ({exc.reason} at byte "
                                 f"{exc.start})", file=source,
                                 hint="give the file's real encoding, or leave the encoding "
                                      "out to detect it") from None
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _check_binary(raw: bytes, source: str) -> None:
    """Refuse NUL bytes in a text file, naming the row: UTF-16 without its byte-order mark,
    or binary content (a spreadsheet saved under a .csv name, a damaged export)."""
    at = raw.find(b"\x00")
    if at < 0:
        return
    if raw[1:200:2].count(0) > 0.8 * len(raw[1:200:2]) or raw[0:200:2].count(0) > 0.8 * len(
            raw[0:200:2]):
        raise InputError("looks like UTF-16 text without a byte-order mark", file=source,
                         row=1, hint="give the encoding (--encoding utf-16-le, or utf-16-be), "
                                     "or save the file as UTF-8 CSV")
    row = raw[:at].count(b"\n") + 1
    raise InputError(f"holds a NUL byte (binary data) at byte {at}", file=source, row=row,
                     hint="this is not plain text: export the data again as CSV, or save an "
                          "Excel file as .xlsx")


def _delimiter(file_type: str, header_line: str) -> str:
    candidates = [",", "\t", ";", "|"]
    counts = {d: header_line.count(d) for d in candidates}
    preferred = {"csv": ",", "tsv": "\t"}.get(file_type)
    if preferred is not None and counts[preferred]:
        return preferred
    best = max(candidates, key=lambda d: counts[d])
    if counts[best]:
        return best
    return preferred or ","


def _peek_records(sample: str, sep: str, n: int) -> list[list[str]]:
    reader = csv.reader(_io.StringIO(sample), delimiter=sep)
    rows = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) >= n:
                break
    except csv.Error:
        pass
    return rows


def _is_import_id(cell: str) -> bool:
    text = str(cell).strip()
    if not (text.startswith("{") and text.endswith("}")):
        return False
    try:
        obj = json.loads(text)
    except ValueError:
        try:
            obj = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return False
    return isinstance(obj, dict) and "ImportId" in obj


def _qualtrics_layout(rows: list[list[Any]]) -> str | None:
    """``"3-row"``, ``"legacy"`` or ``None`` from the first three records of a file."""
    if len(rows) >= 3:
        cells = [c for c in rows[2] if c is not None and str(c).strip() != ""]
        hits = sum(_is_import_id(c) for c in cells)
        if cells and hits * 2 >= len(cells):
            return "3-row"
    if len(rows) >= 2 and len(rows[0]) >= 2 and len(rows[1]) >= 1:
        r1 = [str(c).strip() if c is not None else "" for c in rows[0][:2]]
        if r1 == ["V1", "V2"] and str(rows[1][0]).strip() == "ResponseID":
            return "legacy"
    return None


def _legacy_names(row1: list[Any], row2: list[Any]) -> list[str]:
    """Legacy Qualtrics: metadata columns are ``V1..Vn`` in row 1, their names in row 2."""
    names = []
    for j, name in enumerate(row1):
        name = "" if name is None else str(name)
        alt = str(row2[j]).strip() if j < len(row2) and row2[j] is not None else ""
        names.append(alt if re.fullmatch(r"V\d+", name.strip()) and alt else name)
    return names


def _check_duplicates(names: list[str], source: str, row: int | None,
                      where: str = "column") -> None:
    seen: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        key = str(name).strip()
        if key:
            seen.setdefault(key, []).append(j)
    dupes = {k: v for k, v in seen.items() if len(v) > 1}
    if not dupes:
        return
    first = min(dupes, key=lambda k: dupes[k][1])

    def pos(j: int) -> str:
        if where == "excel":
            from openpyxl.utils import get_column_letter

            return get_column_letter(j + 1)
        return str(j + 1)

    detail = "; ".join(f"{k!r} in columns {', '.join(pos(j) for j in v)}"
                       for k, v in dupes.items())
    raise InputError(f"duplicated column name(s): {detail}", file=source, row=row, column=first,
                     hint="rename the columns so each name appears once")


_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_PARSER_ROW = re.compile(r"starting at row (\d+)")


def _read_text(p: Path, source: str, file_type: str, encoding: str | None,
               attrs: dict[str, Any]) -> tuple[pd.DataFrame, int, str | None]:
    candidates, sample = _detect_encoding(p, source, encoding)
    header_line = sample.split("\n", 1)[0]
    sep = _delimiter(file_type, header_line)
    rows = _peek_records(sample, sep, 3)
    if not rows or not any(str(c).strip() for c in rows[0]):
        raise InputError("the file is empty (no column names on row 1)", file=source, row=1,
                         hint="the first row must hold the column names and the data rows "
                              "follow")
    layout = _qualtrics_layout(rows)
    skip = {"3-row": [1, 2], "legacy": [1]}.get(layout or "", None)
    names = _legacy_names(rows[0], rows[1]) if layout == "legacy" else list(rows[0])
    _check_duplicates(names, source, row=1)
    first_row = 2 + len(skip or [])
    frame = None
    for i, enc in enumerate(candidates):
        try:
            options = dict(sep=sep, encoding=enc, header=0, skiprows=skip,
                           skip_blank_lines=False, low_memory=False)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                # index_col=False: never take the first column as an index when data rows
                # have one field more than the header (checked below instead)
                frame = pd.read_csv(p, index_col=False, **options)
            for w in caught:
                if issubclass(w.category, pd.errors.ParserWarning):
                    _check_extra_fields(p, options, len(frame.columns), source, first_row)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            attrs["encoding"] = enc
            break
        except UnicodeDecodeError as exc:
            if i + 1 == len(candidates):
                raise InputError(f"cannot be decoded as {enc} ({exc.reason})", file=source,
                                 hint="give the file's real encoding") from None
        except pd.errors.EmptyDataError:
            raise InputError("the file is empty (no column names on row 1)", file=source,
                             row=1, hint="the first row must hold the column names and the "
                                         "data rows follow") from None
        except pd.errors.ParserError as exc:
            raise _parser_error(exc, source, sep) from None
    assert frame is not None
    if layout == "legacy":
        frame.columns = [names[j] if j < len(names) and names[j].strip() else str(c)
                         for j, c in enumerate(frame.columns)]
    attrs["delimiter"] = sep
    return frame, first_row, layout


def _check_extra_fields(p: Path, options: dict[str, Any], width: int, source: str,
                        first_row: int) -> None:
    """Data rows longer than the header: fine if the extra fields are all empty (a trailing
    delimiter), else an error naming the first row with a value beyond the header."""
    wide = pd.read_csv(p, index_col=None, **options)  # pandas puts the extra field last
    extra = np.flatnonzero(wide.iloc[:, -1].notna().to_numpy()) if wide.shape[1] else []
    if len(extra):
        raise InputError(
            f"this row has {width + 1} fields but the header names {width} columns",
            file=source, row=first_row + int(extra[0]), column=f"#{width + 1}",
            hint="add the missing column name to the header, quote values that contain the "
                 "delimiter, or remove the extra fields")


def _parser_error(exc: Exception, source: str, sep: str) -> InputError:
    text = str(exc)
    m = _PARSER_LINE.search(text)
    shown = {"\t": "tab"}.get(sep, repr(sep))
    if m:
        expected, line, saw = (int(g) for g in m.groups())
        return InputError(
            f"this row has {saw} fields but the header names {expected} columns",
            file=source, row=line, column=f"#{expected + 1}",
            hint=f"quote values that contain the delimiter {shown}, or remove the extra "
                 "fields")
    m = _PARSER_ROW.search(text)
    if m:
        return InputError("a quoted value is never closed", file=source,
                          row=int(m.group(1)) + 1,
                          hint='close the quote (") or remove it')
    return InputError(f"cannot be parsed as delimited text ({text.strip()})", file=source,
                      hint=f"check the file is {shown}-separated text")


# ---------------------------------------------------------------------------- SPSS, Parquet
def _read_sav(p: Path, source: str,
              attrs: dict[str, Any]) -> tuple[pd.DataFrame, int, str | None]:
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_sav(str(p), user_missing=True, apply_value_formats=False)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise InputError(f"cannot be read as an SPSS .sav file ({exc})", file=source,
                         hint="open it in SPSS (or PSPP) and save it again, or export the "
                              "data as .csv") from None
    counts: dict[str, int] = {}
    ranges = dict(meta.missing_ranges or {})
    for col, values in (meta.missing_user_values or {}).items():
        ranges.setdefault(col, []).extend({"lo": v, "hi": v} for v in values)
    for col, spec in ranges.items():
        if col not in frame.columns:
            continue
        s = frame[col]
        mask = np.zeros(len(s), dtype=bool)
        numeric = pd.api.types.is_numeric_dtype(s)
        for r in spec:
            lo, hi = r["lo"], r["hi"]
            if numeric:
                try:
                    lo, hi = float(lo), float(hi)
                except (TypeError, ValueError):
                    continue
                mask |= ((s >= lo) & (s <= hi)).to_numpy(dtype=bool, na_value=False)
            else:
                text = s.astype("string")
                hit = (text == str(lo)) if lo == hi else ((text >= str(lo)) & (text <= str(hi)))
                mask |= hit.to_numpy(dtype=bool, na_value=False)
        n = int(mask.sum())
        if n:
            frame[col] = s.where(~mask)
            counts[col] = n
    attrs["user_missing"] = counts
    attrs["value_labels"] = {k: dict(v) for k, v in (meta.variable_value_labels or {}).items()}
    labels = list(meta.column_labels or [])
    attrs["variable_labels"] = {
        n: lab for n, lab in zip(meta.column_names, labels, strict=False) if lab}
    return frame, 1, None


def _read_parquet(p: Path, source: str,
                  attrs: dict[str, Any]) -> tuple[pd.DataFrame, int, str | None]:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError("reading Parquet needs the pyarrow package", file=source,
                         hint='pip install "empathy-metrics[parquet]"') from None
    try:
        frame = pd.read_parquet(p)
    except Exception as exc:  # pyarrow.ArrowInvalid etc. for corrupt/foreign files
        raise InputError(f"cannot be read as a Parquet file ({type(exc).__name__})",
                         file=source, hint="write it again, or export the data as .csv") from None
    _check_duplicates([str(c) for c in frame.columns], source, row=None)
    if any(n is not None for n in frame.index.names):
        frame = frame.reset_index()
    else:
        frame = frame.reset_index(drop=True)
    return frame, 1, None


# ---------------------------------------------------------------------------- common end
def _is_qualtrics_columns(columns: list[str]) -> bool:
    cols = set(columns)
    return bool({"ResponseId", "ResponseID", "_recordId"} & cols) and bool(
        {"Status", "Finished", "DistributionChannel"} & cols)


def _redcap_info(columns: list[str]) -> dict[str, Any] | None:
    raw = [c for c in _REDCAP_RAW if c in columns]
    labels = [c for c in _REDCAP_LABELS if c in columns]
    first = columns[0] if columns else None
    if raw or first == "record_id":
        return {"headers": "raw", "id_column": first, "columns": raw}
    if first == "Record ID":
        return {"headers": "labels", "id_column": first, "columns": labels}
    return None


def _folded(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.casefold()


def _restore_int_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns with whole numbers and no missing value back to int64 (after blank rows
    made pandas read them as floats)."""
    for col in frame.columns:
        s = frame[col]
        if s.dtype.kind == "f" and len(s) and s.notna().all():
            values = s.to_numpy()
            if np.all(values == np.round(values)) and np.all(np.abs(values) < 2**53):
                frame[col] = values.astype(np.int64)
    return frame


def _apply_missing_codes(frame: pd.DataFrame, codes: Sequence[str | float]
                         ) -> tuple[pd.DataFrame, dict[str, int]]:
    texts = {str(c).strip().casefold() for c in codes}
    numbers = []
    for c in codes:
        try:
            numbers.append(float(c))
        except (TypeError, ValueError):
            pass
    counts: dict[str, int] = {}
    for col in list(frame.columns):
        s = frame[col]
        if pd.api.types.is_bool_dtype(s):
            continue
        if pd.api.types.is_numeric_dtype(s):
            mask = s.isin(numbers).to_numpy(dtype=bool) if numbers else None
        else:
            mask = _folded(s).isin(texts).to_numpy(dtype=bool, na_value=False)
        if mask is not None and mask.any():
            frame[col] = s.mask(mask)
            counts[col] = int(mask.sum())
    return frame, counts


def _finish(frame: pd.DataFrame, *, source: str, file_type: str, kind: str | None,
            first_row: int, qualtrics_header: str | None, attrs: dict[str, Any],
            exclude_unfinished: bool, exclude_previews: bool,
            keep_identifying: bool,
            missing_codes: Sequence[str | float] | None = None) -> pd.DataFrame:
    # names as users type them: surrounding spaces dropped (duplicates were checked trimmed)
    frame.columns = [str(c).strip() or str(c) for c in frame.columns]
    # columns without a name and without any value (e.g. a trailing delimiter)
    empty_unnamed = [c for c in frame.columns
                     if c.startswith("Unnamed: ") and frame[c].isna().all()]
    if empty_unnamed:
        frame = frame.drop(columns=empty_unnamed)
    frame.index = pd.RangeIndex(len(frame))
    if len(frame) == 0:
        raise InputError("no data rows (only the header)", file=source, row=first_row,
                         hint="export the survey data again with its responses")
    columns = list(frame.columns)
    is_qualtrics = qualtrics_header is not None or _is_qualtrics_columns(columns)
    redcap = None if is_qualtrics else _redcap_info(columns)
    if kind == "qualtrics" and not is_qualtrics:
        raise InputError("is not a Qualtrics export (no ImportId header row, no "
                         "ResponseId/Status columns)", file=source, row=1,
                         hint="export the responses from Qualtrics as CSV, or read it as "
                              "plain data (leave the format out)")
    if kind == "redcap" and redcap is None:
        raise InputError("is not a REDCap export (no record_id first column, no redcap_* "
                         "columns)", file=source, row=1, column=columns[0] if columns else None,
                         hint="export the records from REDCap as CSV, or read it as plain "
                              "data (leave the format out)")

    exclusions: dict[str, int] = {}
    drop = np.zeros(len(frame), dtype=bool)

    def exclude(reason: str, mask: np.ndarray) -> None:
        new = mask & ~drop
        n = int(new.sum())
        if n:
            exclusions[reason] = exclusions.get(reason, 0) + n
            drop[:] |= new

    blank = frame.isna().all(axis=1).to_numpy(dtype=bool, copy=True)
    content = np.flatnonzero(~blank)
    trailing = content[-1] + 1 if len(content) else 0
    drop[trailing:] = True  # blank lines at the end of the file are not rows
    blank[trailing:] = False
    exclude("empty row", blank)
    if is_qualtrics:
        if exclude_previews:
            mask = np.zeros(len(frame), dtype=bool)
            if "Status" in frame.columns:
                st = _folded(frame["Status"])
                mask |= st.isin(["survey preview", "1", "1.0"]).to_numpy(
                    dtype=bool, na_value=False)
            if "DistributionChannel" in frame.columns:
                mask |= (_folded(frame["DistributionChannel"]) == "preview").to_numpy(
                    dtype=bool, na_value=False)
            exclude("survey preview", mask)
        unfinished = unfinished_mask(frame) & ~drop
        # counted and named whatever the default, so that nobody is included without a word
        attrs["unfinished"] = {
            "n": int(unfinished.sum()),
            "rows": (first_row + np.flatnonzero(unfinished)).tolist(),
            "excluded": bool(exclude_unfinished),
        }
        if exclude_unfinished:
            exclude("unfinished", unfinished)
        if not keep_identifying:
            dropped = [c for c in _QUALTRICS_IDENTIFYING if c in frame.columns]
            if dropped:
                frame = frame.drop(columns=dropped)
                attrs["dropped_columns"] = dropped
    if not len(content):
        raise InputError("no data rows (only the header and blank rows)", file=source,
                         row=first_row, hint="export the survey data again with its responses")
    if drop.all():
        reasons = ", ".join(f"{r}: {n}" for r, n in exclusions.items())
        raise InputError(f"no data rows left ({reasons})", file=source, row=first_row,
                         hint="export the survey data again with its responses"
                         + ("" if set(exclusions) == {"empty row"} else
                            "; to keep such rows pass exclude_previews=False"))
    if drop.any():
        frame = frame.loc[~drop]
        if blank.any() or trailing < len(frame):
            frame = _restore_int_columns(frame)

    if missing_codes:
        frame, attrs["missing_codes"] = _apply_missing_codes(frame, missing_codes)
    attrs["exclusions"] = exclusions
    if redcap is not None:
        attrs["redcap"] = redcap
    frame.attrs.clear()
    frame.attrs.update(attrs)
    frame.attrs["source"] = source
    frame.attrs["first_row"] = first_row
    frame.attrs["file_format"] = "csv" if file_type == "txt" and attrs.get(
        "delimiter") != "\t" else ("tsv" if file_type == "txt" else file_type)
    frame.attrs["format"] = ("qualtrics" if is_qualtrics
                             else "redcap" if redcap is not None
                             else frame.attrs["file_format"])
    return frame
