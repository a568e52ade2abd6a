"""Fit statistics of a confirmatory model as a table row and in words (CFA and invariance)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._tables import Column

__all__ = ["FIT_COLUMNS", "fit_rows", "fit_word"]


def fit_rows(fit: Mapping[str, Any], model: str) -> dict[str, Any]:
    """One table row of fit measures (``fit`` as in ``CFAResult.fit``) for ``model``."""
    ci = fit.get("rmsea_ci") or [None, None]
    return {"model": model, "chisq": fit.get("chisq"), "df": fit.get("df"),
            "p": fit.get("pvalue"), "cfi": fit.get("cfi"), "tli": fit.get("tli"),
            "rmsea": fit.get("rmsea"), "rmsea_ci_low": ci[0], "rmsea_ci_high": ci[1],
            "srmr": fit.get("srmr")}


def fit_word(fit: Mapping[str, Any]) -> str | None:
    """'well' / 'acceptably' / 'poorly' by the conventional cut-offs (Hu & Bentler 1999)."""
    try:
        cfi, rmsea, srmr = (float(fit[k]) for k in ("cfi", "rmsea", "srmr"))
    except (KeyError, TypeError, ValueError):
        return None
    if not all(np.isfinite([cfi, rmsea, srmr])):
        return None
    if cfi >= 0.95 and rmsea <= 0.06 and srmr <= 0.08:
        return "well"
    if cfi >= 0.90 and rmsea <= 0.08:
        return "acceptably"
    return "poorly: the items may not group into the published subscales in this sample"


#: The columns of a table of :func:`fit_rows` rows.
FIT_COLUMNS = [Column.text("model", "Model"), Column.num("chisq", "χ²", 1),
               Column.int("df", "df"), Column.p("p"), Column.num("cfi", "CFI", 3),
               Column.num("tli", "TLI", 3), Column.num("rmsea", "RMSEA", 3),
               Column.ci("rmsea_ci_low", "rmsea_ci_high", "RMSEA 90% CI", 3),
               Column.num("srmr", "SRMR", 3)]
