"""What survey tools' exports need before analysis: column names as users type them,
Qualtrics' unfinished responses, REDCap values recorded on one event only.

Used by :func:`empathy_metrics.io.read_responses` (and :func:`resolve_column` by everything
that takes a column name from a user).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .errors import ColumnNameWarning, InputError

__all__ = ["resolve_column", "resolve_columns", "unfinished_mask", "carry_within_records"]


def resolve_column(columns: Iterable[Any], name: str, *, role: str = "column",
                   source: str | None = None) -> str:
    """The column of ``columns`` a user means by ``name``.

    Matched exactly, else after trimming surrounding spaces, else ignoring case when exactly
    one column matches (``STUDENT_ID`` and `` student_id `` both find ``student_id``).

    Raises
    ------
    InputError
        When no column matches, or several match ignoring case; the message lists columns.
    """
    original = list(columns)
    names = [str(c) for c in original]
    if name in original:
        return name
    key = str(name).strip()
    trimmed = [c for c, text in zip(original, names, strict=True) if text.strip() == key]
    if len(trimmed) == 1:
        return trimmed[0]
    folded = [c for c, text in zip(original, names, strict=True)
              if text.strip().casefold() == key.casefold()]
    if len(folded) == 1:
        return folded[0]
    if len(folded) > 1:
        raise InputError(f"{role} column '{name}' matches several columns when case is "
                         f"ignored: {', '.join(repr(c) for c in folded)}", file=source,
                         column=name, hint="give the column name with its exact case")
    shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
    raise InputError(f"{role} column '{name}' not found", file=source, column=name,
                     hint=f"columns are {shown}")


def resolve_columns(frame: pd.DataFrame, *, source: str | None = None,
                    **roles: Any) -> dict[str, Any]:
    """The data columns meant by the names a user gave, one per role (``time="Year "``).

    Each name goes through :func:`resolve_column` (exact, else trimmed, else ignoring case
    when exactly one column matches); ``None`` stays ``None``. The one helper behind the
    command line options and the ``time=``/``id=``/``cohort=``/``group=`` arguments of
    :func:`~empathy_metrics.cohorts.trend` and
    :func:`~empathy_metrics.report.build_report`.

    Warns
    -----
    ColumnNameWarning
        For every name matched only after trimming or ignoring case, naming the column used.

    Raises
    ------
    InputError
        A name that matches no column, or several ignoring case (naming ``source``, the
        column and the columns there are).
    """
    source = source if source is not None else frame.attrs.get("source")
    out: dict[str, Any] = {}
    for role, name in roles.items():
        if name is None:
            out[role] = None
            continue
        col = resolve_column(frame.columns, name, role=role, source=source)
        if col != name:
            warnings.warn(f"{role} column '{name}' not found as given; using the column "
                          f"'{col}' (names are matched after trimming spaces and, when "
                          "only one column fits, ignoring case)", ColumnNameWarning,
                          stacklevel=3)
        out[role] = col
    return out


def _folded(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.casefold()


def unfinished_mask(frame: pd.DataFrame) -> np.ndarray:
    """Qualtrics responses not finished: ``Finished`` 0/false, or without that column
    ``Progress`` below 100."""
    if "Finished" in frame.columns:
        fin = _folded(frame["Finished"])
        return fin.isin(["0", "0.0", "false"]).to_numpy(dtype=bool, na_value=False)
    if "Progress" in frame.columns:
        prog = pd.to_numeric(frame["Progress"], errors="coerce")
        return (prog < 100).to_numpy(dtype=bool, na_value=False)
    return np.zeros(len(frame), dtype=bool)


def _whole(s: pd.Series) -> pd.Series:
    """A float column of whole numbers as integers (nullable ``Int64`` when values are
    missing): codes such as 1.0 and 2024.0 are shown as 1 and 2024."""
    if s.dtype.kind != "f":
        return s
    values = s.dropna().to_numpy()
    if not len(values) or not np.all(values == np.round(values)) \
            or not np.all(np.abs(values) < 2**53):
        return s
    if s.notna().all():
        return s.astype(np.int64)
    return s.astype("Int64")


def carry_within_records(frame: pd.DataFrame, record: str,
                         skip: Iterable[str] = ()) -> tuple[pd.DataFrame, dict[str, int]]:
    """Fill, within each REDCap record, values recorded on its first row only.

    A column is carried when, in every record, it is filled on the record's first row at
    most and empty on the others, and at least one record with several rows has it filled
    (demographics collected once, on the first event). Item answers, given at every event,
    never qualify. Carried columns of whole-number codes become integers.

    Returns
    -------
    (frame, carried)
        The frame (a copy when something was carried) and ``{column: cells filled}``.
    """
    if record not in frame.columns or len(frame) < 2:
        return frame, {}
    ids = frame[record]
    known = ids.notna().to_numpy()
    first = (~ids.duplicated(keep="first")).to_numpy() & known
    size = ids.map(ids.value_counts()).to_numpy(dtype=float, na_value=0)
    skip = set(skip) | {record}
    carried: dict[str, int] = {}
    out = frame
    for col in frame.columns:
        if col in skip:
            continue
        filled = frame[col].notna().to_numpy()
        if filled[known & ~first].any() or not (filled & first & (size > 1)).any():
            continue
        empty_later = known & ~first & ~filled
        if not empty_later.any():
            continue
        if out is frame:
            out = frame.copy()
        values = out[col].where(first & known).groupby(ids).transform("first")
        out[col] = _whole(out[col].where(~empty_later, values))
        carried[col] = int(empty_later.sum() - out[col][empty_later].isna().sum())
    return out, {c: n for c, n in carried.items() if n}
