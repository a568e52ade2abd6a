"""A module imported on first use of one of its attributes.

``scipy.special`` (~0.2 s to import with SciPy 1.17) and ``scipy.optimize`` (~0.3 s) are used
by functions of modules whose *classes* are needed without them: a report's figure worker
unpickles trend and EFA results to draw them and never computes a distribution function or
minimises anything. Those modules bind the SciPy module lazily::

    special = lazy_module("scipy.special")
    ...
    special.ndtr(x)  # imports scipy.special here, the first time

Each attribute is looked up in the real module once and then kept on the proxy, so later uses
cost a plain attribute lookup.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule:
    """Stands for the module ``name`` until an attribute is asked for."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(importlib.import_module(self._name), attr)
        setattr(self, attr, value)  # found directly from now on
        return value

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, imported when one of its attributes is first used."""
    return _LazyModule(name)  # type: ignore[return-value]
