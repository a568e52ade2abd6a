"""empathy-metrics: score empathy questionnaires, check their psychometrics, track change.

The public API is re-exported here lazily, so ``import empathy_metrics`` (and the CLI's
``--help``) stays fast: heavy modules load on first use.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Instrument": "instruments",
    "load_instrument": "instruments",
    "list_instruments": "instruments",
    "read_responses": "io",
    "score": "scoring",
    "ScoreResult": "scoring",
    "reverse_key": "scoring",
    "keyed_items": "scoring",
    "reliability": "reliability",
    "efa": "efa",
    "cfa": "cfa",
    "invariance": "cfa",
    "trend": "cohorts",
    "simulate": "simulate",
    "EmpathyMetricsError": "errors",
    "InputError": "errors",
    "InstrumentError": "errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'empathy_metrics' has no attribute {name!r}")
    mod = importlib.import_module(f"{__name__}.{module}")
    # `simulate` names both a module and its main function
    return getattr(mod, name)


def __dir__() -> list[str]:
    return sorted(__all__)


#: Submodules named like the function they define: ``empathy_metrics.reliability`` is bound to
#: the submodule by the import system once anything imports it, so these modules are made
#: callable, forwarding to their function; ``em.reliability(data, "jse-s")`` works either way
#: and ``import empathy_metrics.reliability as module`` still gives the module.
_SAME_NAME_MODULES = frozenset({"reliability", "efa", "cfa", "simulate"})


class _CallableModule(types.ModuleType):
    """A module whose call forwards to the function of the same name it defines."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SAME_NAME_MODULES and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
