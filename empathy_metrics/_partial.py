"""Partial measurement invariance: a stepwise release of non-invariant loadings or intercepts.

Procedure (Byrne, Shavelson & Muthén 1989; score tests as Yoon & Millsap 2007 use
modification indices), run by :func:`empathy_metrics.cfa.invariance` when metric or
scalar invariance fails:

1. Fit the constrained model (equal loadings, or equal loadings and intercepts) with the
   parameters freed so far, and compare it with the base model (configural for loadings, the
   (partial) metric model for intercepts) by the same criterion as the full test (ΔCFI ≥
   −cutoff, optionally ΔRMSEA ≤ cutoff). If it is met, stop: *partial invariance holds*.
2. Otherwise compute the univariate score test of every remaining equality constraint of that
   kind (lavaan ``lavTestScore``: group 1 = group g, one per group after the first) and take,
   per parameter, the largest over groups.
3. Stop without success when the largest test is not significant (p ≥ .05: the misfit is not
   located in single parameters) or when freeing it would leave its factor with fewer than two
   invariant indicators (partial invariance then is not meaningful; Byrne et al. 1989; Steenkamp
   & Baumgartner 1998). Otherwise free that parameter in every group (lavaan
   ``group.partial``) and go to 1.

The items whose parameters were freed are the ones whose scores are not comparable across the
groups; latent means from the partial model remain comparable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import _sem
from ._distributions import chi2_sf
from ._progress import progress
from ._sem.modindices import release_tests, score_tests

__all__ = ["PartialSearch", "stepwise_release", "ALPHA"]

#: Significance level of the score test that picks the next parameter to free.
ALPHA = 0.05


@dataclass
class PartialSearch:
    """Result of one stepwise search.

    Attributes
    ----------
    level
        ``"metric"`` (loadings released) or ``"scalar"`` (intercepts released).
    freed
        Parameters freed, in order, in lavaan ``group.partial`` notation (``"visual=~x2"``,
        ``"x3~1"``).
    items
        The items whose loading or intercept was freed (not comparable across groups).
    steps
        One row per step: ``step, freed, X2, pvalue, delta_cfi`` (ΔCFI of the model *before*
        freeing, against the base model).
    holds
        Whether the final partial model meets the criterion.
    stop
        Why the search stopped: ``"criterion met"``, ``"no significant test"`` or
        ``"too few invariant items"``.
    model
        The final (partial) model (a :class:`~empathy_metrics.cfa.CFAResult`).
    comparison
        Its comparison with the base model (as a row of ``InvarianceResult.comparisons``).
    """

    level: str
    freed: list[str]
    items: list[str]
    steps: pd.DataFrame
    holds: bool
    stop: str
    model: Any
    comparison: dict[str, Any]
    entries: frozenset = field(default=frozenset(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        from ._results import jsonable

        return {"level": self.level, "freed": list(self.freed), "items": list(self.items),
                "holds": bool(self.holds), "stop": self.stop,
                "steps": jsonable(self.steps), "fit": jsonable(self.model.fit),
                "comparison": jsonable(self.comparison)}


def _name(spec: _sem.ModelSpec, kind: str, row: int, col: int) -> str:
    item = spec.observed[row]
    return f"{spec.factors[col]}=~{item}" if kind == "lambda" else f"{item}~1"


def _factor_of(spec: _sem.ModelSpec, kind: str, row: int, col: int) -> str:
    item = spec.observed[row]
    if kind == "lambda":
        return spec.factors[col]
    return next(f for f in spec.factors if item in spec.indicators[f])


def stepwise_release(
    spec: _sem.ModelSpec,
    stats_g: list[_sem.GroupStats],
    *,
    level: str,
    equal: tuple[str, ...],
    base: Any,
    fixed_partial: frozenset,
    fit: Callable[[tuple[str, ...], frozenset, str], Any],
    compare: Callable[[Any, Any], dict[str, Any]],
) -> PartialSearch:
    """Run the search (see the module docstring).

    ``fit(equal, partial, title)`` fits and returns a ``CFAResult``; ``compare(base, model)``
    returns the comparison row (with ``holds`` and ``delta_cfi``); ``fixed_partial`` are
    entries already freed at an earlier level (loadings freed for partial metric invariance
    stay free in the scalar search).
    """
    kind = "lambda" if level == "metric" else "nu"
    freed: list[tuple[int, int]] = []
    rows: list[dict[str, Any]] = []
    max_steps = sum(len(v) for v in spec.indicators.values())
    stop = "criterion met"
    with progress(max_steps, f"Partial {level} invariance search") as bar:
        while True:
            partial = fixed_partial | frozenset((kind, r, c) for r, c in freed)
            model = fit(equal, partial, f"Partial {level} model")
            comp = compare(base, model)
            if comp["holds"]:
                break
            est = model._estimate
            cands = release_tests(est, kind)
            tests = score_tests(est, cands)
            best: dict[tuple[int, int], float] = {}
            for cand, (x2, _) in zip(cands, tests, strict=True):
                if math.isfinite(x2):
                    key = (cand.row, cand.col)
                    best[key] = max(best.get(key, -math.inf), x2)
            if not best:
                stop = "no significant test"
                break
            (row, col), x2 = max(best.items(), key=lambda kv: kv[1])
            pvalue = float(chi2_sf(x2, 1))
            if pvalue >= ALPHA:
                stop = "no significant test"
                break
            factor = _factor_of(spec, kind, row, col)
            freed_items = {spec.observed[r] for r, _ in freed}
            item = spec.observed[row]
            left = [v for v in spec.indicators[factor] if v != item and v not in freed_items]
            if len(left) < 2:
                stop = "too few invariant items"
                break
            rows.append({"step": len(rows) + 1, "freed": _name(spec, kind, row, col),
                         "X2": x2, "pvalue": pvalue, "delta_cfi": comp["delta_cfi"]})
            freed.append((row, col))
            bar.update(1)
    steps = pd.DataFrame(rows, columns=["step", "freed", "X2", "pvalue", "delta_cfi"])
    return PartialSearch(
        level=level, freed=[_name(spec, kind, r, c) for r, c in freed],
        items=[spec.observed[r] for r, _ in freed], steps=steps, holds=bool(comp["holds"]),
        stop=stop, model=model, comparison=comp,
        entries=fixed_partial | frozenset((kind, r, c) for r, c in freed),
    )
