"""The shared shape of every result object.

A result keeps full precision in its attributes and rounds only when displayed. Subclasses
implement :meth:`to_dict` (plain JSON-ready Python types) and :meth:`to_frame` (the main table),
and :meth:`summary` (text for people); ``_repr_html_`` and ``to_json`` come for free.
"""

from __future__ import annotations

import functools
import html
import json
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Result", "jsonable"]


def jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers into JSON-ready Python objects.

    NaN and infinities become ``None`` (JSON has no NaN); tuples become lists.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return None if not math.isfinite(f) else f
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return value


class Result:
    """Mixin for result objects: ``summary()``, ``to_dict()``, ``to_frame()``, notebook HTML."""

    #: Title shown above the table in notebooks and summaries.
    title: str = "Result"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Make every subclass's ``to_frame`` return a copy: editing the frame a user got
        never changes the result (or the numbers its other methods report)."""
        super().__init_subclass__(**kwargs)
        method = cls.__dict__.get("to_frame")
        if method is None or getattr(method, "_returns_copy", False):
            return

        @functools.wraps(method)
        def to_frame(self: Any, *args: Any, **kw: Any) -> pd.DataFrame:
            return method(self, *args, **kw).copy(deep=True)

        to_frame._returns_copy = True  # type: ignore[attr-defined]
        cls.to_frame = to_frame  # type: ignore[method-assign]

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_json(self, **kwargs: Any) -> str:
        """The :meth:`to_dict` output as a JSON string (NaN written as ``null``)."""
        kwargs.setdefault("indent", 2)
        return json.dumps(jsonable(self.to_dict()), **kwargs)

    def summary(self) -> str:
        """A plain-text table for people (numbers rounded for display only)."""
        frame = self.to_frame()
        with pd.option_context("display.max_rows", 200, "display.width", 120):
            body = frame.to_string(float_format=lambda x: f"{x:.3f}")
        return f"{self.title}\n{'=' * len(self.title)}\n{body}"

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        table = frame.to_html(float_format=lambda x: f"{x:.3f}", na_rep="—", border=0)
        title = html.escape(self.title)
        notes = html_notes(getattr(self, "notes", None))
        return f"<div class='empathy-metrics-result'><h4>{title}</h4>{table}{notes}</div>"


def html_table(frame: pd.DataFrame, min_cell: int | None = None, *, index: bool = False,
               digits: int = 2, keys: tuple[str, ...] = ("scale", "time", "group")) -> str:
    """A table for notebooks: numbers rounded for display only, missing as ``—``, and in the
    rows a ``suppressed`` column marks, every column but the ``keys`` written as why it is
    hidden (:func:`~empathy_metrics.suppression.suppressed_label`: fewer than ``min_cell``
    respondents, or hidden as a complement when ``primary_suppressed`` says so)."""
    from .suppression import suppressed_label, suppression_kind

    out = frame.copy()
    if min_cell is not None and "suppressed" in out.columns:
        hidden = out["suppressed"].fillna(False).to_numpy(dtype=bool)
        kinds = suppression_kind(hidden, out.get("primary_suppressed"))
        out = out.drop(columns=[c for c in ("suppressed", "primary_suppressed") if c in out])
        stats = [c for c in out.columns if c not in keys]
        out = out.astype({c: object for c in stats})
        for i in np.flatnonzero(hidden):
            out.iloc[i, [out.columns.get_loc(c) for c in stats]] = suppressed_label(
                min_cell, kinds[i])
    return out.to_html(float_format=lambda x: f"{x:.{digits}f}", na_rep="—", border=0,
                       index=index)


def html_notes(notes: Any) -> str:
    """The notes of a result as a list under its tables ('' when there are none)."""
    notes = [str(n) for n in (notes or [])]
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f"<p>Notes:</p><ul class='empathy-metrics-notes'>{items}</ul>"
