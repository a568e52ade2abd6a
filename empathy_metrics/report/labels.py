"""Display labels: the words the report shows for column names and coded values.

A labels file (``--labels labels.yaml``; ``labels=`` in Python) maps column names and codes to
words::

    columns:
      year: Training year
      gender: Gender
    values:
      gender: {1: Women, 2: Men}
      year: {1: Year 1, 2: Year 2}

The labels are used in every table (headers and cells), figure (axis labels, ticks, titles,
legends), CSV/XLSX header and value, and sentence of the report. The analysis itself always
runs on the codes, so the order of times and the numeric trend are unchanged.

Without a label, sensible defaults apply: a column is shown by its name; a whole number stored
as a decimal (``2024.0``) is shown as ``2024``; a REDCap event name (``year_2_arm_1``) is shown
as its words (``Year 2``; ``Year 2 (arm 2)`` for other arms).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["Labels", "load_labels"]

_REDCAP_EVENT = re.compile(r"^(?P<name>[a-z0-9_]+?)_arm_(?P<arm>\d+)$")


def _key(value: Any) -> str:
    """A comparable key for a code: ``1``, ``1.0`` and ``"1"`` are the same code."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)) or hasattr(value, "item"):
        try:
            f = float(value)
        except (TypeError, ValueError):
            return str(value).strip()
        if math.isfinite(f) and f == int(f):
            return str(int(f))
        return repr(f)
    return str(value).strip()


def _default_value(value: Any) -> Any:
    """The default display of a code (see the module docstring); the value itself if none."""
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return _default_value(value.item())
        except (ValueError, AttributeError):
            return value
    if isinstance(value, str):
        m = _REDCAP_EVENT.match(value.strip())
        if m:
            words = m.group("name").replace("_", " ").strip()
            words = words[:1].upper() + words[1:]
            return words if m.group("arm") == "1" else f"{words} (arm {m.group('arm')})"
    return value


@dataclass(frozen=True)
class Labels:
    """Words for column names (``columns``) and for the codes of a column (``values``)."""

    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    source: str | None = None

    @classmethod
    def from_mapping(cls, data: Any, source: str | None = None) -> Labels:
        """Check and convert ``{"columns": {...}, "values": {col: {code: word}}}``."""
        where = {"file": source} if source else {}
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise InputError("labels must be a mapping with 'columns' and/or 'values'",
                             **where, hint="see the example in `empathy report --help`")
        unknown = sorted(set(map(str, data)) - {"columns", "values"})
        if unknown:
            raise InputError(f"unknown key(s) in the labels: {', '.join(unknown)}", **where,
                             hint="the labels have two parts: columns and values")
        columns = data.get("columns") or {}
        values = data.get("values") or {}
        if not isinstance(columns, Mapping):
            raise InputError("'columns' must map column names to labels", **where,
                             hint="e.g. columns: {year: Training year}")
        if not isinstance(values, Mapping) or not all(isinstance(v, Mapping)
                                                      for v in values.values()):
            raise InputError("'values' must map each column to {code: label}", **where,
                             hint="e.g. values: {gender: {1: Women, 2: Men}}")
        cols = {}
        for name, label in columns.items():
            if not isinstance(label, (str, int, float)) or not str(label).strip():
                raise InputError(f"the label of column '{name}' must be a non-empty text",
                                 **where, column=str(name))
            cols[str(name)] = str(label).strip()
        vals = {}
        for name, mapping in values.items():
            vals[str(name)] = {_key(code): str(word) for code, word in mapping.items()}
        return cls(cols, vals, source)

    # ------------------------------------------------------------------ lookups
    def has_column(self, name: str | None) -> bool:
        return name is not None and name in self.columns

    def column(self, name: str) -> str:
        """The label of a column (its name when it has none)."""
        return self.columns.get(name, name)

    def header(self, name: str) -> str:
        """A column label for a table header (first letter upper-case)."""
        label = self.column(name)
        return label[:1].upper() + label[1:]

    def word(self, name: str) -> str:
        """A column label inside a sentence: ``Training year`` -> ``training year``, an
        acronym (``PGY level``) kept."""
        label = self.column(name)
        if len(label) > 1 and label[0].isupper() and label[1].islower():
            return label[0].lower() + label[1:]
        return label

    def value(self, column: str | None, value: Any) -> Any:
        """The label of a code of ``column`` (its default display when it has none)."""
        if column is not None and column in self.values:
            hit = self.values[column].get(_key(value))
            if hit is not None:
                return hit
        return _default_value(value)

    def text(self, column: str | None, value: Any) -> str:
        """:meth:`value` as text (``—`` for a missing value)."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "—"
        try:
            import pandas as pd

            if pd.isna(value):
                return "—"
        except (TypeError, ValueError):
            pass
        return str(self.value(column, value))


def load_labels(labels: Labels | Mapping[str, Any] | str | Path | None) -> Labels:
    """A :class:`Labels` from a Labels, a mapping, a YAML file path, or ``None`` (defaults)."""
    if labels is None:
        return Labels()
    if isinstance(labels, Labels):
        return labels
    if isinstance(labels, Mapping):
        return Labels.from_mapping(labels)
    path = Path(labels)
    if not path.is_file():
        raise InputError("the labels file does not exist", file=str(path),
                         hint="give a YAML file with columns: and values:")
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"the labels file is not valid YAML ({exc})", file=str(path),
                         hint="e.g. columns: {year: Training year}") from None
    return Labels.from_mapping(data, source=str(path))
