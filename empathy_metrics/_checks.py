"""Input checks at the edge of the public API (the numerical code behind assumes clean input).

Messages name what was expected and what was given ("expected a DataFrame of responses or a
TrendResult, got ScoreResult") and say what to do; look-ups in results suggest the valid keys.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import InputError, ResultKeyError

__all__ = ["type_name", "check_frame", "check_result", "check_key", "check_choice"]

#: What to do when a result object is passed where the responses are expected.
_RESULT_HINTS = {
    "ScoreResult": "pass the responses themselves; ScoreResult.scores holds the scores",
    "TrendResult": "pass the responses (one row per respondent and time) the trend came from",
    "ReliabilityResult": "pass the responses the reliability was computed from",
    "EFAResult": "pass the responses the factor analysis was computed from",
    "CFAResult": "pass the responses the CFA was fitted to",
}


def type_name(obj: Any) -> str:
    """The class name a user recognises (``DataFrame``, ``ScoreResult``, ``str``, ...)."""
    return type(obj).__name__


def _where(func: str | None) -> str:
    return f"{func}: " if func else ""


def check_frame(obj: Any, name: str = "data", func: str | None = None, *,
                also: Sequence[str] = ()) -> None:
    """Raise :class:`InputError` unless ``obj`` is a pandas DataFrame of responses."""
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        return
    wanted = " or ".join(["a DataFrame of responses", *(f"a {a}" for a in also)])
    hint = _RESULT_HINTS.get(type_name(obj))
    if hint is None and (isinstance(obj, (str, bytes)) or hasattr(obj, "__fspath__")):
        hint = "read the file first: data = em.read_responses(path)"
    if hint is None and isinstance(obj, dict):
        hint = "build one with pandas.DataFrame(...)"
    raise InputError(f"{_where(func)}{name}: expected {wanted}, got {type_name(obj)}",
                     hint=hint)


def check_result(obj: Any, expected: Sequence[str], func: str, *, name: str = "result",
                 made_by: str | None = None) -> None:
    """Raise :class:`InputError` unless ``obj`` is an instance of one of the named classes."""
    if type_name(obj) in expected or any(c.__name__ in expected for c in type(obj).__mro__):
        return
    wanted = " or ".join(f"a {e}" for e in expected)
    raise InputError(f"{func}: {name}: expected {wanted}, got {type_name(obj)}",
                     hint=f"make one with {made_by}" if made_by else None)


def check_key(key: Any, valid: Iterable[Any], what: str = "scale") -> None:
    """Raise :class:`~empathy_metrics.errors.ResultKeyError` (a ``KeyError``) naming the valid
    keys, with the closest match first, unless ``key`` is one of them."""
    keys = list(valid)
    if key in keys:
        return
    close = difflib.get_close_matches(str(key), [str(k) for k in keys], n=1, cutoff=0.5)
    hint = (f"did you mean {close[0]!r}? " if close else "") + \
        f"{what}s are {', '.join(map(repr, keys))}"
    raise ResultKeyError(f"no {what} {key!r}", hint=hint)


def check_choice(value: Any, name: str, choices: Sequence[Any], func: str | None = None) -> None:
    """Raise :class:`InputError` unless ``value`` is one of ``choices``."""
    if value in choices:
        return
    raise InputError(f"{_where(func)}{name} must be one of "
                     f"{', '.join(map(repr, choices))}, got {value!r}")
