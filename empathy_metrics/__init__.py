"""empathy-metrics: score empathy questionnaires, check their psychometrics, track change.

The public API is re-exported here lazily, so ``import empathy_metrics`` (and the CLI's
``--help``) stays fast: heavy modules load on first use.

Every public name is the plain function or class, whatever was imported before: four
submodules are named like the function they define (``reliability``, ``efa``, ``cfa``,
``simulate``). The import system binds a submodule to its package's attribute once anything
imports it; this package keeps the *function* under that name instead, so ``em.reliability``
is always the function with its real signature and docstring. The modules stay importable by
name: ``from empathy_metrics.reliability import cronbach_alpha`` and
``importlib.import_module("empathy_metrics.reliability")`` give the module's contents (only
``import empathy_metrics.reliability as m``, which Python resolves through the package
attribute, gives the function).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Instrument": "instruments",
    "Item": "instruments",
    "load_instrument": "instruments",
    "list_instruments": "instruments",
    "read_responses": "io",
    "score": "scoring",
    "ScoreResult": "scoring",
    "reverse_key": "scoring",
    "keyed_items": "scoring",
    "reliability": "reliability",
    "reliability_by": "cohorts",
    "reliability_by_time": "cohorts",
    "efa": "efa",
    "cfa": "cfa",
    "invariance": "cfa",
    "trend": "cohorts",
    "compare_groups": "cohorts",
    "item_change": "cohorts",
    "simulate": "simulate",
    "EmpathyMetricsError": "errors",
    "InputError": "errors",
    "InstrumentError": "errors",
    "DataError": "errors",
}

__all__ = [
    "__version__",
    "Instrument",
    "Item",
    "load_instrument",
    "list_instruments",
    "read_responses",
    "score",
    "ScoreResult",
    "reverse_key",
    "keyed_items",
    "reliability",
    "reliability_by",
    "reliability_by_time",
    "efa",
    "cfa",
    "invariance",
    "trend",
    "compare_groups",
    "item_change",
    "simulate",
    "EmpathyMetricsError",
    "InputError",
    "InstrumentError",
    "DataError",
]

#: Submodules named like the public function they define; the package attribute of that name
#: is always the function (see the module docstring).
_SAME_NAME_MODULES = frozenset({"reliability", "efa", "cfa", "simulate"})

if TYPE_CHECKING:  # the names as type checkers and IDEs see them
    from .cfa import cfa, invariance
    from .cohorts import (
        compare_groups,
        item_change,
        reliability_by,
        reliability_by_time,
        trend,
    )
    from .efa import efa
    from .errors import DataError, EmpathyMetricsError, InputError, InstrumentError
    from .instruments import Instrument, Item, list_instruments, load_instrument
    from .io import read_responses
    from .reliability import reliability
    from .scoring import ScoreResult, keyed_items, reverse_key, score
    from .simulate import simulate


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'empathy_metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class _Package(types.ModuleType):
    """The package's module type: a submodule never replaces the function of the same name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SAME_NAME_MODULES and isinstance(value, types.ModuleType):
            # the import system binding ``empathy_metrics.<name>`` after loading the submodule
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
