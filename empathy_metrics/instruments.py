"""Instrument definitions: the model, loading and validation, and the registry.

An instrument is described by one YAML file (see ``empathy_metrics/_instruments/*.yaml`` and
``schema.json`` beside them), a dict with the same fields, or built in code
(:class:`Instrument`, :meth:`Instrument.from_columns`). A definition read from YAML or a dict
is validated against the JSON Schema shipped with the package; every instrument is then
checked for consistency (a subscale naming an unknown item, duplicated item ids, labels
outside the response scale, ...). Errors name the file and the field.

Examples
--------
>>> from empathy_metrics import load_instrument
>>> jse = load_instrument("jse-s")
>>> jse.scale_range("total")
(20.0, 140.0)
>>> sorted(jse.scales)
['compassionate_care', 'perspective_taking', 'standing_in_patients_shoes', 'total']
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import InstrumentError

__all__ = [
    "Item",
    "Norm",
    "Instrument",
    "load_instrument",
    "list_instruments",
    "instrument_from_dict",
    "resolve_instrument",
    "normalise_label",
    "TOTAL",
]

#: Name of the total score among an instrument's scales.
TOTAL = "total"


@dataclass(frozen=True)
class Item:
    """One questionnaire item: its id, whether it is reverse keyed, its published position."""

    id: str
    reverse: bool = False
    number: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class Norm:
    """Published normative figures for one scale (and optionally one group)."""

    scale: str
    mean: float
    sd: float
    citation: str
    group: str = "all"
    population: str | None = None
    n: int | None = None
    percentiles: Mapping[float, float] | None = None
    #: year of training of the norm sample (1 = first year) when the source restricts it
    training_year: int | None = None
    #: published low-scorer cut-off (a score at or below it is flagged)
    cutoff_low: float | None = None


def normalise_label(text: str) -> str:
    """Fold an answer text for matching: lower case, single spaces, no surrounding space."""
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


@dataclass(frozen=True)
class Instrument:
    """A questionnaire's scoring key and structure.

    Attributes
    ----------
    id, name, citation, license, notes
        Identification and provenance.
    items
        The items in their published order.
    response_min, response_max
        The integer response scale (e.g. 1..7 for the Jefferson Scale).
    labels
        Answer texts by code, used to read exports holding text answers.
    subscales
        Subscale id -> item ids, in the order of the definition.
    total
        Whether a total score over all items is computed.
    method
        ``"sum"`` or ``"mean"`` of the (keyed) item scores.
    max_missing
        The definition's missing-item allowance, as written: an integer count per scale, a
        percentage string such as ``"20%"``, or a mapping scale id -> either (scales left out
        allow none); see :meth:`max_missing_for`.

    An instrument can be built in code as well as loaded from YAML: items may be given as
    :class:`Item` objects, plain ids or dicts (``{"id": "A1", "reverse": True}``) and subscales
    as lists; the same consistency checks as for a YAML file apply. ``citation`` and
    ``license`` are optional for a user's own instrument (the bundled ones must carry both).

    Examples
    --------
    >>> inst = Instrument(id="my-scale", name="My scale", items=["Q1", "Q2", {"id": "Q3",
    ...                   "reverse": True}], response_min=1, response_max=5,
    ...                   subscales={"a": ["Q1", "Q2"]}, max_missing={"a": 0, "total": 1})
    >>> inst.reverse_items, inst.max_missing_for("total")
    (['Q3'], 1)
    """

    id: str
    name: str
    items: tuple[Item, ...]
    response_min: int
    response_max: int
    citation: str = ""
    license: str = ""
    labels: Mapping[int, str] = field(default_factory=dict)
    subscales: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    subscale_names: Mapping[str, str] = field(default_factory=dict)
    total: bool = True
    method: str = "sum"
    max_missing: int | str | Mapping[str, int | str] = 0
    imputation: str = "person_mean"
    notes: str | None = None
    respondent: str | None = None
    version: str | None = None
    missing_labels: tuple[str, ...] = ()
    label_aliases: Mapping[str, int] = field(default_factory=dict)
    missing_codes: tuple[int | str, ...] = ()
    norms: tuple[Norm, ...] = ()
    source: str | None = None

    def __post_init__(self) -> None:
        from ._instrument_checks import check_consistency, normalise

        normalise(self)
        check_consistency(self)

    @classmethod
    def from_columns(
        cls,
        columns: Sequence[str],
        *,
        response_min: int,
        response_max: int,
        reverse: Sequence[str] = (),
        method: str = "sum",
        max_missing: int | str = 0,
        id: str = "columns",  # noqa: A002 - the field's name
        name: str | None = None,
    ) -> Instrument:
        """A one-scale instrument (scale ``"total"``) over the given data columns.

        The item ids are the column names; only the items in ``reverse`` are reverse keyed.
        Built implicitly (response range from the data) wherever a list of columns is passed
        as the instrument, see :func:`resolve_instrument`.

        Examples
        --------
        >>> inst = Instrument.from_columns(["A1", "A2", "A3"], response_min=1, response_max=6,
        ...                                reverse=["A1"])
        >>> inst.scales, inst.reverse_items
        ({'total': ['A1', 'A2', 'A3']}, ['A1'])
        """
        cols = [str(c) for c in columns]
        unknown = [str(r) for r in reverse if str(r) not in cols]
        if unknown:
            raise InstrumentError(f"reverse-keyed item(s) {', '.join(unknown)} are not among "
                                  f"the columns {', '.join(cols)}")
        rev = {str(r) for r in reverse}
        shown = ", ".join(cols[:4]) + (" ..." if len(cols) > 4 else "")
        return cls(id=id, name=name or f"items {shown}",
                   items=tuple(Item(c, reverse=c in rev) for c in cols),
                   response_min=int(response_min), response_max=int(response_max),
                   method=method, max_missing=max_missing)

    # ------------------------------------------------------------------ structure
    @property
    def item_ids(self) -> list[str]:
        """Item ids in published order."""
        return [it.id for it in self.items]

    @property
    def reverse_items(self) -> list[str]:
        """Ids of the reverse-keyed items."""
        return [it.id for it in self.items if it.reverse]

    @property
    def scales(self) -> dict[str, list[str]]:
        """Every scored scale -> its items: the subscales, then ``"total"`` when there is one."""
        out = {name: list(ids) for name, ids in self.subscales.items()}
        if self.total:
            out[TOTAL] = self.item_ids
        return out

    def scale_name(self, scale: str) -> str:
        """Display name of a scale (``"Total"`` for the total)."""
        if scale == TOTAL:
            return "Total"
        return self.subscale_names.get(scale, scale.replace("_", " ").title())

    def max_missing_for(self, scale: str) -> int:
        """How many of ``scale``'s items a respondent may leave unanswered and still be scored.

        A percentage allowance is applied to the number of items in the scale and rounded
        down (20 % of 20 items = 4; of 8 items = 1; of 2 items = 0). With a per-scale mapping
        the scale's own entry applies (none for a scale left out).
        """
        k = len(self.scales[scale])
        spec = self.max_missing
        if isinstance(spec, Mapping):
            spec = spec.get(scale, 0)
        if isinstance(spec, str):
            frac = float(spec.rstrip("%")) / 100.0
            return int(math.floor(frac * k + 1e-9))
        return min(int(spec), k - 1)

    def scale_range(self, scale: str) -> tuple[float, float]:
        """The smallest and largest possible score of ``scale``."""
        k = len(self.scales[scale])
        if self.method == "mean":
            return float(self.response_min), float(self.response_max)
        return float(k * self.response_min), float(k * self.response_max)

    @property
    def label_codes(self) -> dict[str, int]:
        """Folded answer text -> code, for reading text exports: the labels, their standard
        survey-tool equivalents (e.g. "Neither agree nor disagree" for "Neutral", see
        :mod:`empathy_metrics._labels`) and the instrument's ``label_aliases``."""
        from ._labels import label_variants

        codes = label_variants({normalise_label(text): int(code)
                                for code, text in self.labels.items()})
        codes.update({normalise_label(text): int(code)
                      for text, code in self.label_aliases.items()})
        return codes

    def norms_for(self, scale: str, group: str | None = None) -> list[Norm]:
        """Published norms of ``scale`` (optionally only those of ``group``)."""
        return [n for n in self.norms if n.scale == scale and (group is None or n.group == group)]

    # ------------------------------------------------------------------ derived copies
    def with_item_text(self, overlay: str | Path | Mapping[str, str]) -> Instrument:
        """A copy with item wording added from a licensed user's overlay.

        ``overlay`` is a mapping item id -> text, or a YAML/JSON file holding one (optionally
        under a top-level ``items:`` key). Unknown item ids are an error.
        """
        source = None
        if not isinstance(overlay, Mapping):
            source = str(overlay)
            data = _read_yaml(Path(overlay))
            if isinstance(data, Mapping) and isinstance(data.get("items"), Mapping):
                data = data["items"]
            if not isinstance(data, Mapping):
                raise InstrumentError(
                    "an item-text overlay must map item ids to text",
                    file=source,
                    hint="write lines such as 'JSE1: <item wording>'",
                )
            overlay = data
        known = set(self.item_ids)
        unknown = [str(k) for k in overlay if str(k) not in known]
        if unknown:
            raise InstrumentError(
                f"item-text overlay names unknown item(s) {', '.join(unknown)}",
                file=source,
                hint=f"items of {self.id} are {', '.join(self.item_ids)}",
            )
        texts = {str(k): str(v) for k, v in overlay.items()}
        items = tuple(replace(it, text=texts.get(it.id, it.text)) for it in self.items)
        return replace(self, items=items)

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict[str, Any]:
        """The definition with the same fields as the YAML, items in published order."""
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.version:
            out["version"] = self.version
        if self.citation:
            out["citation"] = self.citation
        if self.license:
            out["license"] = self.license
        if self.notes:
            out["notes"] = self.notes
        if self.respondent:
            out["respondent"] = self.respondent
        scale: dict[str, Any] = {"min": self.response_min, "max": self.response_max}
        if self.labels:
            scale["labels"] = {int(k): v for k, v in self.labels.items()}
        if self.missing_labels:
            scale["missing_labels"] = list(self.missing_labels)
        if self.label_aliases:
            scale["label_aliases"] = dict(self.label_aliases)
        if self.missing_codes:
            scale["missing_codes"] = list(self.missing_codes)
        out["response_scale"] = scale
        items = []
        for it in self.items:
            d: dict[str, Any] = {"id": it.id}
            if it.number is not None:
                d["number"] = it.number
            if it.reverse:
                d["reverse"] = True
            if it.text is not None:
                d["text"] = it.text
            items.append(d)
        out["items"] = items
        if self.subscales:
            out["subscales"] = {k: list(v) for k, v in self.subscales.items()}
        if self.subscale_names:
            out["subscale_names"] = dict(self.subscale_names)
        out["total"] = self.total
        out["scoring"] = {
            "method": self.method,
            "max_missing": (dict(self.max_missing) if isinstance(self.max_missing, Mapping)
                            else self.max_missing),
            "imputation": self.imputation,
        }
        if self.norms:
            norms = []
            for n in self.norms:
                d = {"scale": n.scale, "group": n.group}
                if n.population:
                    d["population"] = n.population
                d["citation"] = n.citation
                if n.n is not None:
                    d["n"] = n.n
                d["mean"] = n.mean
                d["sd"] = n.sd
                if n.training_year is not None:
                    d["training_year"] = n.training_year
                if n.cutoff_low is not None:
                    d["cutoff_low"] = n.cutoff_low
                if n.percentiles:
                    d["percentiles"] = {str(k): v for k, v in n.percentiles.items()}
                norms.append(d)
            out["norms"] = norms
        return out

    def __repr__(self) -> str:
        return (
            f"Instrument(id={self.id!r}, items={len(self.items)}, "
            f"scales={list(self.scales)}, scale={self.response_min}..{self.response_max})"
        )


# ---------------------------------------------------------------------- loading


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("empathy_metrics._instruments").joinpath("schema.json").read_text()
    return json.loads(text)


def _read_yaml(path: Path) -> Any:
    if not path.exists():
        raise InstrumentError(
            "file not found", file=str(path), hint="give the path of an instrument YAML file"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise InstrumentError(f"cannot read the file ({exc.strerror})", file=str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = None if mark is None else mark.line + 1
        raise InstrumentError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            file=str(path),
            row=row,
            hint="check indentation and quoting near that line",
        ) from None


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _stringify_keys(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _stringify_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_stringify_keys(v) for v in obj]
    return obj


def _validate_schema(data: Any, source: str | None) -> None:
    import jsonschema

    if not isinstance(data, dict):
        raise InstrumentError(
            "an instrument definition must be a mapping (id:, name:, items:, ...)", file=source
        )
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(_stringify_keys(data)), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        where = _json_path(err.absolute_path)
        msg = err.message
        if err.validator == "additionalProperties":
            msg = f"unknown field: {msg}"
        raise InstrumentError(
            f"field '{where}': {msg}",
            file=source,
            hint="see empathy_metrics/_instruments/schema.json for the allowed fields"
            + (f" ({len(errors) - 1} more problem(s))" if len(errors) > 1 else ""),
        )


def instrument_from_dict(data: Mapping[str, Any], source: str | None = None) -> Instrument:
    """Build and validate an :class:`Instrument` from a parsed definition.

    ``data`` has the fields of an instrument YAML file (see
    ``empathy_metrics/_instruments/schema.json``); :func:`load_instrument` accepts such a
    mapping directly.

    Raises
    ------
    InstrumentError
        Naming ``source`` and the offending field.
    """
    _validate_schema(data, source)
    return _build(data, source)


def _build(data: Mapping[str, Any], source: str | None) -> Instrument:
    """The :class:`Instrument` of a definition that passed the schema."""
    rs = data["response_scale"]
    norms = []
    for n in data.get("norms") or []:
        pct = n.get("percentiles")
        norms.append(
            Norm(scale=n["scale"], mean=float(n["mean"]), sd=float(n["sd"]),
                 citation=n["citation"], group=n.get("group", "all"),
                 population=n.get("population"), n=n.get("n"),
                 percentiles=None if pct is None else {float(k): float(v) for k, v in pct.items()},
                 training_year=n.get("training_year"),
                 cutoff_low=None if n.get("cutoff_low") is None else float(n["cutoff_low"]))
        )
    scoring = data["scoring"]
    return Instrument(
        id=str(data["id"]),
        name=str(data["name"]),
        citation=str(data.get("citation") or ""),
        license=str(data.get("license") or ""),
        items=tuple(data["items"]),
        response_min=int(rs["min"]),
        response_max=int(rs["max"]),
        labels=rs.get("labels") or {},
        subscales=data.get("subscales") or {},
        subscale_names=data.get("subscale_names") or {},
        total=bool(data.get("total", True)),
        method=scoring["method"],
        max_missing=scoring.get("max_missing", 0),
        imputation=scoring.get("imputation", "person_mean"),
        notes=data.get("notes"),
        respondent=data.get("respondent"),
        version=data.get("version"),
        missing_labels=tuple(rs.get("missing_labels") or ()),
        label_aliases=rs.get("label_aliases") or {},
        missing_codes=tuple(rs.get("missing_codes") or ()),
        norms=tuple(norms),
        source=source,
    )


def _bundled_dir():
    return resources.files("empathy_metrics._instruments")


@cache
def _load_bundled(instrument_id: str) -> Instrument:
    ref = _bundled_dir().joinpath(f"{instrument_id}.yaml")
    data = yaml.safe_load(ref.read_text(encoding="utf-8"))
    source = f"{instrument_id}.yaml (bundled)"
    # the shipped files pass the schema (tests/test_instruments.py checks each): no
    # jsonschema import and validation (~0.1 s) on every run
    inst = _build(data, source=source)
    for name in ("citation", "license"):
        if not getattr(inst, name):
            raise InstrumentError(f"field '{name}': a bundled instrument must name its "
                                  f"{name}", file=source)
    return inst


def _bundled_ids() -> list[str]:
    return sorted(p.name[:-5] for p in _bundled_dir().iterdir() if p.name.endswith(".yaml"))


def list_instruments() -> list[Instrument]:
    """The bundled instruments, sorted by id."""
    return [_load_bundled(i) for i in _bundled_ids()]


def load_instrument(
    id_or_path: str | Path | Mapping[str, Any] | Instrument,
    *,
    item_text: str | Path | Mapping[str, str] | None = None,
) -> Instrument:
    """Load a bundled instrument by id, a user's definition from a file or a dict.

    Parameters
    ----------
    id_or_path
        A bundled id (``"jse-s"``, ``"iri"``, ...; see :func:`list_instruments`), a path to a
        YAML (or JSON) file, a mapping with the fields of such a file (validated the same
        way), or an :class:`Instrument` (returned as is).
    item_text
        Optional item-text overlay (see :meth:`Instrument.with_item_text`).

    Returns
    -------
    Instrument

    Raises
    ------
    InstrumentError
        Unknown id, unreadable file, or a definition that fails validation (the message names
        the file and the field).

    Examples
    --------
    >>> mine = load_instrument({
    ...     "id": "my-scale", "name": "My scale",
    ...     "response_scale": {"min": 1, "max": 5},
    ...     "items": [{"id": "Q1"}, {"id": "Q2"}, {"id": "Q3", "reverse": True}],
    ...     "scoring": {"method": "mean", "max_missing": 1},
    ... })
    >>> mine.scales
    {'total': ['Q1', 'Q2', 'Q3']}
    """
    if isinstance(id_or_path, Instrument):
        inst = id_or_path
    elif isinstance(id_or_path, Mapping):
        inst = instrument_from_dict(id_or_path, source=None)
    elif isinstance(id_or_path, (str, Path)):
        text = str(id_or_path)
        bundled = _bundled_ids()
        if text in bundled:
            inst = _load_bundled(text)
        elif text.endswith((".yaml", ".yml", ".json")) or Path(text).exists():
            path = Path(text)
            inst = instrument_from_dict(_read_yaml(path), source=str(path))
        else:
            raise InstrumentError(
                f"unknown instrument '{text}'",
                hint=f"use one of {', '.join(bundled)} or the path of a YAML file",
            )
    else:
        raise InstrumentError(
            f"expected an instrument id, a YAML path, a dict or an Instrument, got "
            f"{type(id_or_path).__name__}",
            hint="for a list of item columns, pass it together with the data (e.g. "
                 "em.reliability(df, ['A1', 'A2', 'A3'])) or use Instrument.from_columns")
    if item_text is not None:
        inst = inst.with_item_text(item_text)
    return inst


def _is_column_list(value: Any) -> bool:
    if isinstance(value, (str, bytes, Mapping, Instrument, Path)):
        return False
    return isinstance(value, Iterable)


def resolve_instrument(instrument: Any, data: Any = None) -> Instrument:
    """The instrument every public function accepts: id, path, dict, :class:`Instrument`, or a
    list of item columns of ``data``.

    A list of columns is one scale (``"total"``, the sum of the items) with no reverse-keyed
    items, unless an entry is written ``"-A1"`` (psych's ``keys`` convention: item ``A1``
    reverse keyed). Its response range is the smallest and largest code observed in those
    columns; for reverse keying against the published range, or a mean score, build it
    with :meth:`Instrument.from_columns` instead.

    Raises
    ------
    InstrumentError
        A column list without data, a column the data lack, or non-numeric codes.
    """
    if not _is_column_list(instrument):
        return load_instrument(instrument)
    entries = [str(c) for c in instrument]
    if not entries:
        raise InstrumentError("the list of item columns is empty")
    if data is None or not hasattr(data, "columns"):
        raise InstrumentError("a list of item columns needs the data to read the response "
                              "range from", hint="use Instrument.from_columns(columns, "
                              "response_min=..., response_max=...)")
    cols, reverse = [], []
    for e in entries:
        name = e[1:] if e.startswith("-") and e not in data.columns else e
        if name not in data.columns:
            raise InstrumentError(f"column '{name}' not found in the data",
                                  hint=f"columns are {', '.join(map(str, data.columns[:12]))}"
                                  + (" ..." if data.shape[1] > 12 else ""))
        cols.append(name)
        if name != e:
            reverse.append(name)
    import pandas as pd

    block = data[cols].apply(pd.to_numeric, errors="coerce")
    text = [c for c in cols if block[c].isna().sum() > data[c].isna().sum()]
    if text:
        raise InstrumentError(f"column '{text[0]}' holds non-numeric answers",
                              hint="a list of columns needs numeric codes; for answer texts "
                                   "define an Instrument with labels")
    lo, hi = block.min().min(), block.max().max()
    if not (pd.notna(lo) and pd.notna(hi)) or lo == hi:
        raise InstrumentError("the item columns hold fewer than two distinct codes",
                              hint="use Instrument.from_columns(columns, response_min=..., "
                                   "response_max=...)")
    return Instrument.from_columns(cols, response_min=int(math.floor(lo)),
                                   response_max=int(math.ceil(hi)), reverse=reverse)
