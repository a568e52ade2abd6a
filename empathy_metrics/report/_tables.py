"""Report building blocks: tables (display and export forms), figures, sections.

Nothing here computes a statistic. A :class:`Table` holds a frame as the library returned it
(full precision) and the column formats used to display it; rows flagged ``suppressed`` are
blanked in every form (HTML, CSV, XLSX) whatever the frame holds, as a last guard.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..suppression import SMALL, suppressed_label, suppression_kind, with_kinds

__all__ = ["Column", "Table", "Figure", "Section", "fmt_num", "fmt_p", "fmt_ci", "fmt_int"]


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(isinstance(value, (float, np.floating)) and not math.isfinite(value))
    except TypeError:  # pragma: no cover - exotic scalars
        return False


def fmt_num(value: Any, digits: int = 2, signed: bool = False) -> str:
    """A number rounded for display (``—`` when missing); the minus sign is U+2212."""
    if _missing(value):
        return "—"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"
    if text.lstrip("+-").strip("0.") == "":  # -0.00 -> 0.00
        text = f"{0.0:.{digits}f}"
    return text.replace("-", "\u2212")


def fmt_int(value: Any) -> str:
    if _missing(value):
        return "—"
    try:
        return f"{int(round(float(value))):,}"
    except (TypeError, ValueError):
        return str(value)


def fmt_p(value: Any) -> str:
    """APA-style p-value: ``< .001`` or three decimals without the leading zero."""
    if _missing(value):
        return "—"
    v = float(value)
    if v < 0.001:
        return "< .001"
    return f"{v:.3f}".lstrip("0") if v < 1 else "1.000"


def fmt_ci(low: Any, high: Any, digits: int = 2) -> str:
    if _missing(low) or _missing(high):
        return "—"
    return f"{fmt_num(low, digits)} to {fmt_num(high, digits)}"


@dataclass
class Column:
    """One displayed column: a header and a function of the row giving the shown text."""

    label: str
    render: Callable[[pd.Series], str]
    numeric: bool = True
    key: bool = False

    @classmethod
    def text(cls, col: str, label: str | None = None, key: bool = True) -> Column:
        return cls(label or col, lambda r: "—" if _missing(r.get(col)) else str(r.get(col)),
                   numeric=False, key=key)

    @classmethod
    def num(cls, col: str, label: str | None = None, digits: int = 2,
            signed: bool = False) -> Column:
        return cls(label or col, lambda r: fmt_num(r.get(col), digits, signed))

    @classmethod
    def int(cls, col: str, label: str | None = None) -> Column:
        return cls(label or col, lambda r: fmt_int(r.get(col)))

    @classmethod
    def p(cls, col: str, label: str = "p") -> Column:
        return cls(label, lambda r: fmt_p(r.get(col)))

    @classmethod
    def ci(cls, low: str, high: str, label: str = "95% CI", digits: int = 2) -> Column:
        return cls(label, lambda r: fmt_ci(r.get(low), r.get(high), digits))


@dataclass
class Table:
    """A table of the report, written to CSV/XLSX as ``data`` and shown through ``columns``.

    Parameters
    ----------
    name
        File-safe name, unique in the report: the CSV file ``<name>.csv`` and the XLSX sheet
        ``<name>`` (stable from run to run, whatever other tables the data give).
    title
        Caption shown above the table.
    data
        The export form: full precision, one row per cell, with a boolean ``suppressed``
        column when cells can be suppressed.
    columns
        Display columns; key columns are always shown, the others are replaced by the
        suppression label in suppressed rows.
    note
        Text shown under the table.
    """

    name: str
    title: str
    data: pd.DataFrame
    columns: Sequence[Column]
    note: str | None = None
    min_cell: int = 10
    number: int = 0
    index: bool = False
    keys: tuple[str, ...] = ()
    display: pd.DataFrame | None = None
    #: Applied to ``data`` when exported (display labels for values and headers).
    relabel: Callable[[pd.DataFrame], pd.DataFrame] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.data = self._guard(self.data)
        if self.display is not None:
            self.display = self._guard(self.display)

    def _guard(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Blank every non-key value of suppressed rows; ``suppressed`` and (when known)
        ``primary_suppressed`` stay booleans here and become the kind of suppression
        ("small" | "complementary") in :meth:`export_frame` and the HTML."""
        data = frame.copy()
        if self.index:
            data = data.reset_index()
        if "suppressed" in data.columns:
            # per value as before, on a list (Series.map costs ~0.15 ms a call)
            sup = np.array([bool(v) if not pd.isna(v) else False
                            for v in data["suppressed"].tolist()], dtype=bool)
            keys = {c for c in data.columns if c in self.key_columns}
            if sup.any():
                for col in data.columns:
                    if col in keys or col in ("suppressed", "primary_suppressed"):
                        continue
                    data[col] = data[col].astype(object)
                    data.loc[sup, col] = None
            data["suppressed"] = sup
            if "primary_suppressed" in data.columns:
                data["primary_suppressed"] = np.array(
                    [True if pd.isna(v) else bool(v)
                     for v in data["primary_suppressed"].tolist()], dtype=bool)
        else:
            data = data.drop(columns=["primary_suppressed"], errors="ignore")
        return data.reset_index(drop=True)

    @property
    def key_columns(self) -> set[str]:
        """Columns that identify a cell (never blanked)."""
        return {"scale", "time", "from", "to", "item", "category", "group", "reference_group",
                "term", "statistic", "measure", "model", "factor", "test", "scale_name",
                *self.keys}

    @property
    def csv_name(self) -> str:
        return f"{self.name}.csv"

    def suppressed_label(self, kind: Any = SMALL) -> str:
        return suppressed_label(self.min_cell, kind)

    def html_rows(self) -> list[dict[str, Any]]:
        """Rows for the template: ``{"cells": [(text, numeric)], "suppressed": bool,
        "label": why (suppressed rows), "span": n}``."""
        rows = []
        frame = self.display if self.display is not None else self.data
        kinds = (suppression_kind(frame["suppressed"], frame.get("primary_suppressed"))
                 if "suppressed" in frame else np.zeros(len(frame), dtype=object))
        n_keys = sum(1 for c in self.columns if c.key)
        for i, (_, row) in enumerate(frame.iterrows()):
            if kinds[i] is not False and not pd.isna(kinds[i]) and kinds[i]:
                keys = [(c.render(row), c.numeric) for c in self.columns if c.key]
                rows.append({"suppressed": True, "cells": keys,
                             "label": self.suppressed_label(kinds[i]),
                             "span": max(len(self.columns) - n_keys, 1)})
            else:
                rows.append({"suppressed": False,
                             "cells": [(c.render(row), c.numeric) for c in self.columns]})
        return rows

    def export_frame(self) -> pd.DataFrame:
        """The frame written to CSV and XLSX: suppressed rows blanked, ``suppressed`` saying
        why ("small", "complementary", or False for a shown cell), display labels applied."""
        data = with_kinds(self.data)
        return self.relabel(data) if self.relabel is not None else data


@dataclass
class Figure:
    """A figure embedded as an SVG ``data:`` URI (vector, prints sharply, no script)."""

    name: str
    caption: str
    alt: str
    uri: str
    number: int = 0

    @classmethod
    def from_matplotlib(cls, fig: Any, name: str, caption: str, alt: str) -> Figure:
        """``fig`` as an SVG ``data:`` URI; the same figure always gives the same bytes.

        Ids are fixed (``svg.hashsalt`` is the figure's name) and text is drawn as paths (the
        figure-privacy tests read tick values from the glyph comments of that form). A figure
        with a layout engine (the plots use constrained layout) is drawn once, see
        :func:`~empathy_metrics.report._svg.svg_bytes`; any other figure is cropped with
        ``bbox_inches="tight"``.
        """
        import matplotlib

        from ._svg import svg_bytes

        with matplotlib.rc_context({"svg.hashsalt": name}):
            if fig.get_layout_engine() is not None:
                svg = svg_bytes(fig)
            else:
                buf = io.BytesIO()
                fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
                svg = buf.getvalue()
        data = base64.b64encode(svg).decode("ascii")
        return cls(name=name, caption=caption, alt=alt, uri=f"data:image/svg+xml;base64,{data}")


@dataclass
class Section:
    """A report section: paragraphs (plain text), bullet points, tables, figures, notes."""

    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    #: Table | Figure | ("h", text) | ("p", text) | ("ul", title, items)
    #: | ("cols", [(title, items), ...]) | ("cards", [(label, value, detail), ...])
    blocks: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unavailable: str | None = None
    notes_title: str = "Notes"
    appendix: bool = False

    def add(self, block: Any) -> Any:
        self.blocks.append(block)
        return block

    def heading(self, text: str) -> None:
        self.blocks.append(("h", text))

    def para(self, text: str) -> None:
        self.blocks.append(("p", text))

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]
