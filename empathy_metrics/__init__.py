"""empathy-metrics: score empathy questionnaires, check their psychometrics, track change.

The public API is re-exported here lazily, so ``import empathy_metrics`` (and the CLI's
``--help``) stays fast: heavy modules load on first use.
"""

from __future__ import annotations

import importlib
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
