"""The report's longitudinal models, fitted once on the times its tables show.

The core :func:`~empathy_metrics.cohorts.trend` of the report runs without mixed models (they
are the slow part and the report fits them on the shown times only). Running ``trend`` again
for the models would repeat every descriptive table, test and effect size; these functions
run only the cohort package's model steps, on the same prepared input ``trend`` builds
(:func:`~empathy_metrics.cohorts._base.prepare_trend_input`), so the numbers are those of
``trend(..., mixed=True)`` on the shown times:

- :func:`fit_mixed`: ``score ~ factor(time) + (1 | id)`` and the linear slope per scale
  (:func:`empathy_metrics.cohorts.longitudinal.longitudinal_tables`);
- :func:`fit_cohort_sequential`: ``score ~ factor(time) + factor(cohort) + (1 | id)`` of the
  headline scale (:func:`empathy_metrics.cohorts.cohort_sequential.cohort_sequential`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MixedModels", "fit_mixed", "fit_cohort_sequential", "model_d"]


@dataclass
class MixedModels:
    """The mixed models of the report (the fields of a ``TrendResult`` the report reads)."""

    scales: list[str]
    mixed_model: dict[str, Any]
    linear_slope: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _shown_input(ctx: Any, scales: list[str], cohort: str | None) -> Any:
    """The prepared input of the shown times: the report's scores (``ctx.scored``, scored once
    per row) with the time, id and cohort columns, so that the items are not scored again;
    when a data column is named like a scale, the rows with their items (``trend`` then
    scores them and warns about that column, as it does)."""
    from ..cohorts._base import prepare_trend_input

    kept = [t for t in ctx.times if ctx.time_shown[t]]
    shown = ctx.frame[ctx.time].isin(kept).to_numpy()
    if any(s in ctx.frame.columns for s in scales):
        frame = ctx.frame[shown]
    else:
        cols = [c for c in dict.fromkeys((ctx.time, ctx.id, cohort)) if c is not None]
        scores = ctx.scored.scores
        frame = ctx.frame.loc[shown, cols].assign(
            **{s: scores[s].to_numpy(dtype=float)[shown] for s in scales})
    return prepare_trend_input(frame, ctx.inst, time=ctx.time, id=ctx.id, cohort=cohort,
                               group=None, reference=ctx.tr.reference, min_cell=ctx.min_cell,
                               scales=scales)


def fit_mixed(ctx: Any) -> MixedModels:
    """The mixed models of ``ctx.mixed_scales`` on the shown times (REML, lme4's
    ``lmer(score ~ factor(time) + (1 | id))``; see :func:`empathy_metrics.mixed.fit_mixed`).

    Where a model cannot be fitted the slope falls back to the cross-sectional OLS slope of
    the report's trend (on the same shown times), as ``trend`` does.
    """
    from ..cohorts.longitudinal import longitudinal_tables

    inp = _shown_input(ctx, list(ctx.mixed_scales), None)
    ols = {s: ctx.tr.tests.get(s, {}).get("linear_trend") for s in inp.scales}
    mixed, slope, _, _ = longitudinal_tables(inp, ols, mixed=True, changes=False)
    return MixedModels(list(inp.scales), mixed, slope, list(inp.notes))


def fit_cohort_sequential(ctx: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """The cohort-sequential model of the headline scale on the shown times, with its notes
    (``None`` and the reason when it cannot be fitted)."""
    from ..cohorts.cohort_sequential import cohort_sequential

    inp = _shown_input(ctx, [ctx.main], ctx.cohort)
    model, notes = cohort_sequential(inp, ctx.main)
    return model, list(inp.notes) + notes


def model_d(estimate: float, model: dict[str, Any]) -> float | None:
    """A mixed-model effect in standard deviations: ``b / sqrt(σ²_id + σ²_e)``.

    The SD is the model's total SD of one answer (random-intercept and residual variance),
    the standardiser of Westfall, Kenny & Judd (2014, J Exp Psychol Gen 143:2020) for
    ``lmer`` effects; it plays the role of the pooled SD of Cohen's d, so Cohen's labels
    (0.2, 0.5, 0.8) apply. Assumes the model's variance components describe the scores at
    every time (homogeneous residual variance).
    """
    sd = (float(model.get("sigma") or 0.0) ** 2
          + float(model.get("sd_intercept") or 0.0) ** 2) ** 0.5
    return estimate / sd if sd > 0 else None
