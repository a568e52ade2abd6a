"""Cohort-sequential design: year of training and entering cohort separated in one model.

When several entering cohorts are followed over the same training years, a difference between
years can be a change of the students (same students, within-person) or a difference between
the cohorts that happen to be in those years (different students). One linear mixed model with
both effects separates them,

``score ~ factor(year) + factor(cohort) + (1 | id)``,

where a year effect compares the same students across years (with the other cohorts' data at
the same years) and a cohort effect compares different students at the same year of training.
Whether the change across years differs between cohorts is tested by a likelihood-ratio test of
that model against the one with the cohort × year interaction, both fitted by maximum
likelihood (R ``anova(lmer(..., REML = FALSE), lmer(... * ..., REML = FALSE))``); interaction
columns that the data cannot estimate (a cohort not yet in a year) are dropped, as lme4 drops
rank-deficient columns, so the test's df are the estimable interaction terms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._distributions import chi2_sf
from ..errors import DataError
from ._base import DIFFERENT_STUDENTS as DIFFERENT
from ._base import SAME_STUDENTS as SAME
from ._base import TrendInput


def _rows(inp: TrendInput, scale: str) -> pd.DataFrame:
    """Rows of shown times and shown cohort × time cells with a cohort and a score."""
    sub = inp.shown_rows(scale)
    sub = sub[sub[inp.cohort].notna()]
    pat = inp.cell_patterns.get(inp.cohort)
    if pat is not None:
        hidden = pd.MultiIndex.from_frame(pat.loc[pat["suppressed"], [inp.cohort, "time"]])
        cells = pd.MultiIndex.from_arrays([sub[inp.cohort], sub[inp.time]])
        sub = sub[~cells.isin(hidden)]
    return sub[~sub.duplicated([inp.id, inp.time])]


def _main_design(time: np.ndarray, cohort: np.ndarray, times: list[Any],
                 cohorts: list[Any]) -> np.ndarray:
    """Intercept, time and cohort treatment dummies (R ``model.matrix(~ factor(time) +
    factor(cohort))`` with the references first)."""
    return np.column_stack([np.ones(time.size)] + [(time == t).astype(float) for t in times[1:]]
                           + [(cohort == c).astype(float) for c in cohorts[1:]])


def _interaction_columns(X: np.ndarray, time: np.ndarray, cohort: np.ndarray,
                         times: list[Any], cohorts: list[Any]) -> dict[str, np.ndarray]:
    """Estimable cohort × time dummies (greedy in order; aliased ones dropped, as lme4)."""
    gram = X.T @ X
    rank = np.linalg.matrix_rank(gram)
    kept: dict[str, np.ndarray] = {}
    for c in cohorts[1:]:
        for t in times[1:]:
            col = ((cohort == c) & (time == t)).astype(float)
            if not col.any():
                continue
            trial = np.column_stack([X, col])
            g = trial.T @ trial
            r = np.linalg.matrix_rank(g, tol=1e-8 * np.abs(g).max())
            if r > rank:
                X, rank = trial, r
                kept[f"cohort[{c}]:time[{t}]"] = col
    return kept


def _fit_reml(y: np.ndarray, time: np.ndarray, ids: np.ndarray, cohort: np.ndarray,
              times: list[Any]) -> Any:
    """The reported model: REML, lmerTest's Satterthwaite df (:func:`mixed.fit_mixed`)."""
    from ..mixed import fit_mixed

    return fit_mixed(y, time, ids, categorical=True, levels=times,
                     covariates={"cohort": cohort}, factors=["cohort"], reml=True)


def _fit_ml(y: np.ndarray, X: np.ndarray, ids: np.ndarray) -> Any:
    """An ML fit for the likelihood-ratio test (:func:`mixed.fit_lmm`, no df needed)."""
    from ..mixed import fit_lmm

    codes, uniques = pd.factorize(pd.Series(ids))
    return fit_lmm(y, X, codes, int(uniques.size), reml=False, satterthwaite=False)


def _terms(fit: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for name, term in fit.terms.items():
        design = SAME if name.startswith("time[") else DIFFERENT if name.startswith(
            "cohort[") else None
        out[name] = {**term, "ci": list(term["ci"]), "design": design}
    return out


def _lrt(main_ml: Any, inter_ml: Any, df: int) -> dict[str, Any]:
    chisq = max(2.0 * (inter_ml.loglik - main_ml.loglik), 0.0)
    return {"chisq": chisq, "df": df, "p": float(chi2_sf(chisq, df)),
            "loglik_main": main_ml.loglik, "loglik_interaction": inter_ml.loglik,
            "method": "likelihood-ratio test of ML fits (R anova() of lmer(REML = FALSE))",
            "terms": [], "design": SAME}


def cohort_sequential(inp: TrendInput, scale: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The cohort-sequential model of one scale, or ``None`` with the reason in the notes.

    Returns a dict with ``formula``, ``terms`` (``time[t]`` effects marked "same students",
    ``cohort[c]`` effects marked "different students"; each with estimate, SE, Satterthwaite df,
    CI and p, REML as lmerTest), ``sigma``, ``sd_intercept``, ``n_obs``, ``n_groups``,
    ``cohort_reference``, ``interaction`` (likelihood-ratio test of the cohort × year
    interaction: chi-square, df, p, the two ML log-likelihoods and the estimable interaction
    terms) and ``notes``. Needs repeated ids, a cohort column, at least two shown times and two
    cohorts; rows of hidden times and hidden cohort × time cells are left out.
    """
    if inp.cohort is None or not inp.longitudinal or len(inp.kept) < 2:
        return None, []
    sub = _rows(inp, scale)
    cohorts = sorted(pd.unique(sub[inp.cohort]).tolist(), key=str)
    times = [t for t in inp.times if t in set(sub[inp.time])]
    if len(cohorts) < 2 or len(times) < 2 or inp.reference not in times:
        return None, [f"{scale}: cohort-sequential model skipped (needs two shown cohorts and "
                      "two shown times including the reference)"]
    y = sub[scale].to_numpy(dtype=float)
    tv = sub[inp.time].to_numpy()
    cv = sub[inp.cohort].to_numpy()
    ids = sub[inp.id].to_numpy()
    try:
        fit = _fit_reml(y, tv, ids, cv, times)
        X = _main_design(tv, cv, times, cohorts)
        main_ml = _fit_ml(y, X, ids)
        inter = _interaction_columns(X, tv, cv, times, cohorts)
        inter_ml = (_fit_ml(y, np.column_stack([X, *inter.values()]), ids) if inter
                    else None)
    except DataError as exc:
        return None, [f"{scale}: cohort-sequential model not fitted ({exc})"]
    notes = [f"{scale}: cohort-sequential model: {n}" for n in fit.notes]
    if not all(m.converged for m in (main_ml, inter_ml) if m is not None):
        notes.append(f"{scale}: an ML fit of the cohort × year test did not converge; its "
                     "p-value may be unreliable")
    out = {"formula": "score ~ factor(time) + factor(cohort) + (1 | id), REML",
           "terms": _terms(fit), "sigma": fit.sigma, "sd_intercept": fit.sd_intercept,
           "n_obs": fit.n_obs, "n_groups": fit.n_groups, "cohort_reference": cohorts[0],
           "time_reference": times[0], "interaction": None}
    if inter_ml is None:
        notes.append(f"{scale}: no cohort × year interaction can be estimated (every cohort "
                     "is seen in one year only, or the cohorts share no year)")
    else:
        lrt = _lrt(main_ml, inter_ml, len(inter))
        lrt["terms"] = list(inter)
        out["interaction"] = lrt
    return out, notes


def cohort_sequential_models(inp: TrendInput) -> dict[str, dict[str, Any] | None]:
    """:func:`cohort_sequential` of every scale (notes go to the trend's notes)."""
    out = {}
    for scale in inp.scales:
        out[scale], notes = cohort_sequential(inp, scale)
        inp.notes.extend(notes)
    return out
