"""Linear mixed models for repeated measures, fitted as lme4 does (own engine, no statsmodels).

Used by :mod:`empathy_metrics.cohorts` for longitudinal data (respondent ids repeating across
times): ``score ~ time + (1 | id)`` with time as a factor or as a number, optionally with a random
slope of (numeric) time, ``(1 + time | id)``, and extra fixed covariates. The engine follows
``lme4::lmer`` (Bates, Mächler, Bolker & Walker 2015): the profiled REML criterion (or ML
deviance) in the relative covariance factor θ, penalised least squares with one small Cholesky
factor per respondent, a bounded optimiser and lme4's convergence and singularity checks;
Satterthwaite df follow lmerTest. Agreement with lme4 and lmerTest is tested in
``tests/test_mixed.py`` against ``tests/reference/mixed.R``.

Modules: :mod:`._pls` (the criterion for one θ), :mod:`._optimize` (minimising it, checks),
:mod:`._satterthwaite` (df), :mod:`._engine` (fit from design matrices), :mod:`._model` (the
repeated-measures models and their result object).
"""

from __future__ import annotations

from ._engine import LmmFit, fit_lmm
from ._model import MixedModelFit, fit_mixed, fit_random_intercept

__all__ = ["LmmFit", "MixedModelFit", "fit_lmm", "fit_mixed", "fit_random_intercept"]
