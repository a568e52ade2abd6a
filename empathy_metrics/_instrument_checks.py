"""Consistency checks of an :class:`~empathy_metrics.instruments.Instrument`.

Run by ``Instrument.__post_init__`` for every instrument, whether loaded from a bundled or
user YAML file, a dict, or built in code: the checks a JSON Schema cannot express (a subscale
naming an unknown item, duplicated item ids, labels outside the response scale, ...). Errors
name the field, and the file when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import InstrumentError
from .instruments import TOTAL, Item, normalise_label

if TYPE_CHECKING:
    from .instruments import Instrument

__all__ = ["normalise", "check_consistency"]


def _fail(inst: Instrument, fieldname: str, message: str,
          hint: str | None = None) -> InstrumentError:
    return InstrumentError(f"field '{fieldname}': {message}", file=inst.source, hint=hint)


def _as_item(value: Any, i: int, source: str | None) -> Item:
    if isinstance(value, Item):
        return value
    if isinstance(value, str):
        return Item(id=value)
    if isinstance(value, Mapping) and "id" in value:
        extra = set(value) - {"id", "reverse", "number", "text"}
        if not extra:
            return Item(id=str(value["id"]), reverse=bool(value.get("reverse", False)),
                        number=value.get("number"), text=value.get("text"))
    raise InstrumentError(f"field 'items[{i}]': expected an item id, an Item or a mapping with "
                          f"id (and reverse, number, text), got {value!r}", file=source)


def normalise(inst: Instrument) -> None:
    """Coerce the convenient forms accepted in code (lists, plain ids) to the stored ones."""
    def put(name: str, value: Any) -> None:
        object.__setattr__(inst, name, value)

    if isinstance(inst.items, (str, bytes)) or not isinstance(inst.items, Iterable):
        raise InstrumentError("field 'items': expected a sequence of items", file=inst.source)
    put("items", tuple(_as_item(v, i, inst.source) for i, v in enumerate(inst.items)))
    put("labels", {int(k): str(v) for k, v in dict(inst.labels).items()})
    put("subscales", {str(k): tuple(str(x) for x in v) for k, v in dict(inst.subscales).items()})
    put("subscale_names", {str(k): str(v) for k, v in dict(inst.subscale_names).items()})
    put("missing_labels", tuple(inst.missing_labels))
    put("label_aliases", {str(k): int(v) for k, v in dict(inst.label_aliases).items()})
    put("missing_codes", tuple(inst.missing_codes))
    put("norms", tuple(inst.norms))
    put("citation", inst.citation or "")
    put("license", inst.license or "")
    if isinstance(inst.max_missing, Mapping):
        put("max_missing", dict(inst.max_missing))


def _check_response_scale(inst: Instrument) -> None:
    lo, hi = inst.response_min, inst.response_max
    if lo >= hi:
        raise _fail(inst, "response_scale", f"min ({lo}) must be smaller than max ({hi})")
    for code in inst.labels:
        if not lo <= code <= hi:
            raise _fail(inst, f"response_scale.labels.{code}",
                        f"label code {code} is outside the response scale {lo}..{hi}",
                        "put not-applicable answers under response_scale.missing_labels")
    folded = [normalise_label(t) for t in inst.labels.values()]
    if len(set(folded)) != len(folded):
        raise _fail(inst, "response_scale.labels", "two codes share the same label text")
    own = {normalise_label(t): c for c, t in inst.labels.items()}
    for text, code in inst.label_aliases.items():
        if not lo <= code <= hi:
            raise _fail(inst, f"response_scale.label_aliases.{text}",
                        f"code {code} is outside the response scale {lo}..{hi}")
        if own.get(normalise_label(text), code) != code:
            raise _fail(inst, f"response_scale.label_aliases.{text}",
                        f"'{text}' is already the label of code {own[normalise_label(text)]}")


def _check_items(inst: Instrument) -> None:
    if not inst.items:
        raise _fail(inst, "items", "an instrument needs at least one item")
    seen: set[str] = set()
    numbers: dict[int, str] = {}
    for i, it in enumerate(inst.items):
        if it.id in seen:
            raise _fail(inst, f"items[{i}].id", f"item id '{it.id}' is used twice")
        seen.add(it.id)
        if it.number is not None:
            if it.number in numbers:
                raise _fail(inst, f"items[{i}].number",
                            f"item number {it.number} is used by '{numbers[it.number]}' and "
                            f"'{it.id}'", "number items by their position in the published form")
            numbers[it.number] = it.id
    for name, ids in inst.subscales.items():
        for j, iid in enumerate(ids):
            if iid not in seen:
                raise _fail(inst, f"subscales.{name}[{j}]",
                            f"subscale '{name}' names unknown item '{iid}'",
                            f"items are {', '.join(inst.item_ids)}")
        if len(set(ids)) != len(ids):
            raise _fail(inst, f"subscales.{name}", f"subscale '{name}' lists an item twice")
        if name == TOTAL:
            raise _fail(inst, f"subscales.{name}", "'total' is reserved for the total score",
                        "set total: true instead")


def check_consistency(inst: Instrument) -> None:
    """The checks a schema cannot express; errors name the field (and file, when known)."""
    _check_response_scale(inst)
    _check_items(inst)
    if not inst.subscales and not inst.total:
        raise _fail(inst, "total", "the instrument has no subscales and no total: nothing to "
                    "score", "set total: true or add subscales")
    for name in inst.subscale_names:
        if name not in inst.subscales:
            raise _fail(inst, f"subscale_names.{name}", f"'{name}' is not a subscale")
    if inst.method not in ("sum", "mean"):
        raise _fail(inst, "scoring.method", f"method must be 'sum' or 'mean', got {inst.method!r}")
    scales = inst.scales
    specs = (inst.max_missing.items() if isinstance(inst.max_missing, Mapping)
             else [(None, inst.max_missing)])
    for scale, spec in specs:
        where = "scoring.max_missing" + ("" if scale is None else f".{scale}")
        if scale is not None and scale not in scales:
            raise _fail(inst, where, f"'{scale}' is not a scale of this instrument",
                        f"scales are {', '.join(scales)}")
        ok = (isinstance(spec, str) and re.fullmatch(r"[0-9]+(\.[0-9]+)?%", spec)) or (
            isinstance(spec, int) and not isinstance(spec, bool) and spec >= 0)
        if not ok:
            raise _fail(inst, where, f"expected a count (0, 1, ...) or a percentage such as "
                        f"'20%', got {spec!r}")
    for i, n in enumerate(inst.norms):
        if n.scale not in scales:
            raise _fail(inst, f"norms[{i}].scale",
                        f"'{n.scale}' is not a scale of this instrument")
