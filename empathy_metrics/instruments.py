"""Instrument definitions: the model, loading and validation, and the registry.

An instrument is described by one YAML file (see ``instruments/*.yaml`` in the source tree and
``schema.json`` beside them). Every definition is validated on load, first against the JSON
Schema shipped with the package and then for consistency (a subscale naming an unknown item,
duplicated item ids, labels outside the response scale, ...). Errors name the file and the field.

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
from collections.abc import Iterable, Mapping
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
        The definition's missing-item allowance, as written: an integer count per scale or a
        percentage string such as ``"20%"``; see :meth:`max_missing_for`.
    """

    id: str
    name: str
    citation: str
    license: str
    items: tuple[Item, ...]
    response_min: int
    response_max: int
    labels: Mapping[int, str] = field(default_factory=dict)
    subscales: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    subscale_names: Mapping[str, str] = field(default_factory=dict)
    total: bool = True
    method: str = "sum"
    max_missing: int | str = 0
    imputation: str = "person_mean"
    notes: str | None = None
    respondent: str | None = None
    version: str | None = None
    missing_labels: tuple[str, ...] = ()
    missing_codes: tuple[int | str, ...] = ()
    norms: tuple[Norm, ...] = ()
    source: str | None = None

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
        down (20 % of 20 items = 4; of 8 items = 1; of 2 items = 0).
        """
        k = len(self.scales[scale])
        spec = self.max_missing
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
        """Folded answer text -> code, for reading text exports."""
        return {normalise_label(text): int(code) for code, text in self.labels.items()}

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
        out["citation"] = self.citation
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
            "max_missing": self.max_missing,
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
            hint="see instruments/schema.json for the allowed fields"
            + (f" ({len(errors) - 1} more problem(s))" if len(errors) > 1 else ""),
        )


def instrument_from_dict(data: Mapping[str, Any], source: str | None = None) -> Instrument:
    """Build and validate an :class:`Instrument` from a parsed definition.

    Raises
    ------
    InstrumentError
        Naming ``source`` and the offending field.
    """
    _validate_schema(data, source)

    def fail(fieldname: str, message: str, hint: str | None = None) -> InstrumentError:
        return InstrumentError(f"field '{fieldname}': {message}", file=source, hint=hint)

    rs = data["response_scale"]
    lo, hi = int(rs["min"]), int(rs["max"])
    if lo >= hi:
        raise fail("response_scale", f"min ({lo}) must be smaller than max ({hi})")
    labels = {int(k): str(v) for k, v in (rs.get("labels") or {}).items()}
    for code in labels:
        if not lo <= code <= hi:
            raise fail(
                f"response_scale.labels.{code}",
                f"label code {code} is outside the response scale {lo}..{hi}",
                "put not-applicable answers under response_scale.missing_labels",
            )
    folded = [normalise_label(t) for t in labels.values()]
    if len(set(folded)) != len(folded):
        raise fail("response_scale.labels", "two codes share the same label text")

    items = []
    seen: set[str] = set()
    numbers: dict[int, str] = {}
    for i, it in enumerate(data["items"]):
        iid = str(it["id"])
        if iid in seen:
            raise fail(f"items[{i}].id", f"item id '{iid}' is used twice")
        seen.add(iid)
        number = it.get("number")
        if number is not None:
            if number in numbers:
                raise fail(f"items[{i}].number",
                           f"item number {number} is used by '{numbers[number]}' and '{iid}'",
                           "number items by their position in the published form")
            numbers[number] = iid
        items.append(
            Item(id=iid, reverse=bool(it.get("reverse", False)), number=it.get("number"),
                 text=it.get("text"))
        )

    subscales: dict[str, tuple[str, ...]] = {}
    for name, ids in (data.get("subscales") or {}).items():
        ids = [str(x) for x in ids]
        for j, iid in enumerate(ids):
            if iid not in seen:
                raise fail(
                    f"subscales.{name}[{j}]",
                    f"subscale '{name}' names unknown item '{iid}'",
                    f"items are {', '.join(it.id for it in items)}",
                )
        if len(set(ids)) != len(ids):
            raise fail(f"subscales.{name}", f"subscale '{name}' lists an item twice")
        if name == TOTAL:
            raise fail(f"subscales.{name}", "'total' is reserved for the total score",
                       "set total: true instead")
        subscales[str(name)] = tuple(ids)
    total = bool(data.get("total", True))
    if not subscales and not total:
        raise fail("total", "the instrument has no subscales and no total: nothing to score",
                   "set total: true or add subscales")
    for name in data.get("subscale_names") or {}:
        if name not in subscales:
            raise fail(f"subscale_names.{name}", f"'{name}' is not a subscale")

    scoring = data["scoring"]
    max_missing = scoring.get("max_missing", 0)
    norms = []
    scale_ids = set(subscales) | ({TOTAL} if total else set())
    for i, n in enumerate(data.get("norms") or []):
        if n["scale"] not in scale_ids:
            raise fail(f"norms[{i}].scale", f"'{n['scale']}' is not a scale of this instrument")
        pct = n.get("percentiles")
        norms.append(
            Norm(scale=n["scale"], mean=float(n["mean"]), sd=float(n["sd"]),
                 citation=n["citation"], group=n.get("group", "all"),
                 population=n.get("population"), n=n.get("n"),
                 percentiles=None if pct is None else {float(k): float(v) for k, v in pct.items()})
        )
    return Instrument(
        id=str(data["id"]),
        name=str(data["name"]),
        citation=str(data["citation"]),
        license=str(data["license"]),
        items=tuple(items),
        response_min=lo,
        response_max=hi,
        labels=labels,
        subscales=subscales,
        subscale_names={str(k): str(v) for k, v in (data.get("subscale_names") or {}).items()},
        total=total,
        method=scoring["method"],
        max_missing=max_missing,
        imputation=scoring.get("imputation", "person_mean"),
        notes=data.get("notes"),
        respondent=data.get("respondent"),
        version=data.get("version"),
        missing_labels=tuple(rs.get("missing_labels") or ()),
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
    return instrument_from_dict(data, source=f"{instrument_id}.yaml (bundled)")


def list_instruments() -> list[Instrument]:
    """The bundled instruments, sorted by id."""
    ids = sorted(
        p.name[: -len(".yaml")] for p in _bundled_dir().iterdir() if p.name.endswith(".yaml")
    )
    return [_load_bundled(i) for i in ids]


def load_instrument(
    id_or_path: str | Path | Instrument,
    *,
    item_text: str | Path | Mapping[str, str] | None = None,
) -> Instrument:
    """Load a bundled instrument by id, or a user's YAML definition by path.

    Parameters
    ----------
    id_or_path
        A bundled id (``"jse-s"``, ``"iri"``, ...; see :func:`list_instruments`), a path to a
        YAML file, or an :class:`Instrument` (returned as is).
    item_text
        Optional item-text overlay (see :meth:`Instrument.with_item_text`).

    Raises
    ------
    InstrumentError
        Unknown id, unreadable file, or a definition that fails validation (the message names
        the file and the field).
    """
    if isinstance(id_or_path, Instrument):
        inst = id_or_path
    else:
        text = str(id_or_path)
        bundled = {p.name[:-5] for p in _bundled_dir().iterdir() if p.name.endswith(".yaml")}
        if text in bundled:
            inst = _load_bundled(text)
        elif text.endswith((".yaml", ".yml", ".json")) or Path(text).exists():
            path = Path(text)
            inst = instrument_from_dict(_read_yaml(path), source=str(path))
        else:
            raise InstrumentError(
                f"unknown instrument '{text}'",
                hint=f"use one of {', '.join(sorted(bundled))} or the path of a YAML file",
            )
    if item_text is not None:
        inst = inst.with_item_text(item_text)
    return inst
