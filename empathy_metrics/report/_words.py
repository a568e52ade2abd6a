"""Words of the report: effect-size labels, change and p-value phrases (no statistics here)."""

from __future__ import annotations

from typing import Any

from ._tables import fmt_num, fmt_p

__all__ = ["effect_word", "change_phrase", "p_phrase", "when", "pts"]


def effect_word(d: float) -> str:
    """Cohen's (1988) conventional labels for |d|."""
    a = abs(d)
    if a < 0.2:
        return "negligible"
    if a < 0.5:
        return "small"
    if a < 0.8:
        return "medium"
    return "large"


def pts(x: float, digits: int = 1) -> str:
    return fmt_num(abs(x), digits)


def change_phrase(diff: float, lo: float, hi: float, digits: int = 1) -> tuple[str, str]:
    """('5.2 points lower', '95% CI 3.1 to 7.3') with the CI in the direction of the change."""
    if diff < 0:
        main = f"{pts(diff, digits)} points lower"
    else:
        main = f"{pts(diff, digits)} points higher"
    if hi < 0:
        ci = f"95% CI {pts(hi, digits)} to {pts(lo, digits)} lower"
    elif lo > 0:
        ci = f"95% CI {pts(lo, digits)} to {pts(hi, digits)} higher"
    else:
        ci = f"95% CI from {pts(lo, digits)} lower to {pts(hi, digits)} higher"
    return main, ci


def p_phrase(p: Any) -> str:
    """``p < .001`` or ``p = .012``."""
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def when(time_col: str, t: Any) -> str:
    return f"{time_col} {t}"

