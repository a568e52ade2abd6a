"""Mixed models against lme4::lmer(REML = TRUE) (tests/reference/cohorts.R) and their warnings."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from empathy_metrics import mixed
from empathy_metrics.cohorts import trend
from empathy_metrics.errors import DataError, DegenerateDataWarning
from empathy_metrics.mixed import fit_mixed, fit_random_intercept
from empathy_metrics.scoring import score

REF = Path(__file__).parent / "reference"
#: statsmodels MixedLM vs lme4 (both REML): the issue asks for 1e-3 relative. Observed: about
#: 1e-4 for SEs and random-effect SDs, 1e-7 for fixed effects.
RTOL_LMER = 1e-3
#: the REML criterion itself (−2 restricted log-likelihood) agrees far more closely.
RTOL_REML = 1e-8


@pytest.fixture(scope="module")
def ref():
    return json.loads((REF / "cohorts.json").read_text())


@pytest.fixture(scope="module")
def decline():
    raw = pd.read_csv(REF / "data" / "decline_sim.csv")
    return pd.concat([raw[["id", "year"]], score(raw, "jse-s").scores[["total"]]], axis=1)


@pytest.fixture(scope="module")
def small(decline):
    """The first 50 respondents (quick fits for the warning tests)."""
    return decline[decline["id"].isin(decline["id"].unique()[:50])]


@pytest.fixture(scope="module")
def slope():
    return pd.read_csv(REF / "data" / "slope_sim.csv")


def _check_terms(fit_terms, ref_terms, with_ci=True):
    assert set(fit_terms) == set(ref_terms)
    for term, want in ref_terms.items():
        got = fit_terms[term]
        assert got["estimate"] == pytest.approx(want["estimate"], rel=RTOL_LMER), term
        assert got["se"] == pytest.approx(want["se"], rel=RTOL_LMER), term
        if with_ci:
            assert got["ci"] == pytest.approx(want["ci"], rel=RTOL_LMER), term
        if "p_wald" in want and want["p_wald"] > 1e-300:
            # p is a steep function of z = est/se: compare on the log scale
            assert np.log(got["p"]) == pytest.approx(np.log(want["p_wald"]), rel=RTOL_LMER)
        elif "p_wald" in want:  # underflows in R as in Python
            assert got["p"] < 1e-300


def test_random_intercept_categorical_matches_lmer(decline, ref):
    r = ref["scales"]["total"]["mixed_model"]
    fit = fit_random_intercept(decline["total"].to_numpy(), decline["year"].to_numpy(),
                               decline["id"].to_numpy(), categorical=True, levels=[1, 2, 3, 4])
    _check_terms(fit.terms, r["terms"])
    assert fit.sigma == pytest.approx(r["sigma"], rel=RTOL_LMER)
    assert fit.sd_intercept == pytest.approx(r["sd_intercept"], rel=RTOL_LMER)
    assert (fit.n_obs, fit.n_groups) == (r["n_obs"], r["n_groups"])
    assert fit.converged and fit.sd_slope is None and fit.notes == []
    assert fit.formula == "score ~ factor(time) + (1 | id), REML"


def test_random_intercept_linear_matches_lmer(decline, ref):
    r = ref["scales"]["total"]["mixed_linear"]
    fit = fit_mixed(decline["total"].to_numpy(), decline["year"].to_numpy(),
                    decline["id"].to_numpy(), categorical=False)
    assert fit.terms["time"]["estimate"] == pytest.approx(r["estimate"], rel=RTOL_LMER)
    assert fit.terms["time"]["se"] == pytest.approx(r["se"], rel=RTOL_LMER)
    assert fit.terms["time"]["ci"] == pytest.approx(r["ci"], rel=RTOL_LMER)
    assert fit.terms["Intercept"]["estimate"] == pytest.approx(r["intercept"], rel=RTOL_LMER)
    assert fit.sigma == pytest.approx(r["sigma"], rel=RTOL_LMER)
    assert fit.sd_intercept == pytest.approx(r["sd_intercept"], rel=RTOL_LMER)


@pytest.mark.parametrize("kind", ["categorical", "linear"])
def test_random_slope_matches_lmer(slope, ref, kind):
    r = ref["random_slope"][kind]
    assert not r["singular"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateDataWarning)
        fit = fit_mixed(slope["score"].to_numpy(), slope["wave"].to_numpy(),
                        slope["id"].to_numpy(), categorical=kind == "categorical",
                        levels=[1, 2, 3, 4], random_slope=True,
                        slope_time=slope["wave"].to_numpy(float))
    _check_terms(fit.terms, r["terms"])
    for key in ("sigma", "sd_intercept", "sd_slope", "cor_intercept_slope"):
        assert getattr(fit, key) == pytest.approx(r[key], rel=RTOL_LMER), key
    assert fit.reml == pytest.approx(r["reml"], rel=RTOL_REML)
    assert (fit.n_obs, fit.n_groups) == (r["n_obs"], r["n_groups"])
    assert fit.to_dict()["sd_slope"] == fit.sd_slope
    # the random slope matters here: the residual SD is smaller than without it
    assert fit.sigma < ref["random_slope"]["intercept_only"]["sigma"]


def test_trend_random_slope_option(slope, ref):
    data = slope.rename(columns={"score": "total"})
    res = trend(data, "jse-s", time="wave", id="id", scales=["total"], random_slope=True)
    mm = res.mixed_model["total"]
    r = ref["random_slope"]["categorical"]
    _check_terms(mm["terms"], r["terms"])
    assert mm["sd_slope"] == pytest.approx(r["sd_slope"], rel=RTOL_LMER)
    assert mm["formula"] == "score ~ factor(time) + (1 + time | id), REML"
    lin = ref["random_slope"]["linear"]
    assert res.linear_slope["total"]["estimate"] == pytest.approx(
        lin["terms"]["time"]["estimate"], rel=RTOL_LMER)
    assert res.linear_slope["total"]["sd_slope"] == pytest.approx(lin["sd_slope"], rel=RTOL_LMER)
    assert res.to_dict()["random_slope"] is True


def test_non_convergence_warns_and_tries_every_optimiser(small, monkeypatch):
    import statsmodels.regression.mixed_linear_model as mlm

    calls = []
    real_fit = mlm.MixedLM.fit

    def no_convergence(self, *args, **kwargs):
        res = real_fit(self, *args, **kwargs)
        calls.append(kwargs.get("method"))
        res.converged = False
        return res

    monkeypatch.setattr(mlm.MixedLM, "fit", no_convergence)
    with pytest.warns(DegenerateDataWarning, match="did not converge with any optimiser"):
        fit = fit_mixed(small["total"].to_numpy(), small["year"].to_numpy(),
                        small["id"].to_numpy(), categorical=False)
    assert not fit.converged and "not converged" in fit.notes
    assert len(calls) == len(mixed._METHODS)
    assert fit.to_dict()["converged"] is False


def test_non_convergence_reaches_trend_notes(small, monkeypatch):
    import statsmodels.regression.mixed_linear_model as mlm

    real_fit = mlm.MixedLM.fit

    def no_convergence(self, *args, **kwargs):
        res = real_fit(self, *args, **kwargs)
        res.converged = False
        return res

    monkeypatch.setattr(mlm.MixedLM, "fit", no_convergence)
    monkeypatch.setattr(mixed, "_METHODS", (("lbfgs",),))
    with pytest.warns(DegenerateDataWarning):
        res = trend(small, "jse-s", time="year", id="id", scales=["total"])
    assert any("not converged" in n for n in res.notes)
    assert res.mixed_model["total"]["converged"] is False


def test_singular_fit_warns():
    # every respondent has the same mean: the random-intercept variance is exactly zero
    rng = np.random.default_rng(7)
    ids = np.repeat(np.arange(40), 3)
    t = np.tile([1, 2, 3], 40)
    e = rng.normal(0, 3, (40, 3))
    e -= e.mean(axis=1, keepdims=True)
    y = 100 - 2.0 * t + e.ravel()
    with pytest.warns(DegenerateDataWarning, match="singular"):
        fit = fit_mixed(y, t, ids, categorical=False)
    assert fit.sd_intercept == pytest.approx(0.0, abs=1e-3)
    assert any("singular" in n for n in fit.notes)
    assert fit.terms["time"]["estimate"] == pytest.approx(-2.0 + (e.ravel() @ (t - 2))
                                                          / ((t - 2) @ (t - 2)), rel=1e-6)


def test_too_little_data_is_a_data_error():
    with pytest.raises(DataError, match="two respondents"):
        fit_mixed(np.arange(4.0), np.array([1, 2, 1, 2]), np.array(["a"] * 4), categorical=False)
    with pytest.raises(DataError, match="needs more than"):
        fit_mixed(np.arange(3.0), np.array([1, 2, 1]), np.array(["a", "a", "b"]),
                  categorical=True)
