"""The mixed-model engine against lme4::lmer and lmerTest (tests/reference/mixed.R, cohorts.R).

Tolerances (relative):

* ``RTOL_BALANCED`` = 1e-6 and ``RTOL_UNBALANCED`` = 1e-4 (the issue's bars) against lme4 run to
  the optimum (``mixed.R``, "tight"): fixed effects, SEs, the full vcov, σ, random-effect SDs,
  REMLcrit/deviance and logLik. Observed: at most 7e-7 (estimates), 1e-7 (SEs), 2e-8 (σ) and
  5e-15 (criterion) on every case, balanced or not.
* θ (and the intercept-slope correlation, a function of θ alone): 1e-6 relative with 1e-6
  absolute, because the criterion is flat to double precision
  within about 1e-7 of its minimum: R's BOBYQA locates θ only that well (our analytic-gradient
  optimum has the lower criterion where they differ).
* lme4 with its *default* optimiser settings stops at a deviance change of 1e-8: its
  estimates, SEs and σ then agree within ``RTOL_LME4_DEFAULT`` = 1e-4 (observed 4e-5).
* Satterthwaite df, p and the t-based CI against lmerTest: ``RTOL_SATT`` = 1e-3 (the issue's
  bar; observed 1e-6).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst

from empathy_metrics.cohorts import trend
from empathy_metrics.errors import DataError, DegenerateDataWarning
from empathy_metrics.mixed import _optimize, fit_lmm, fit_mixed, fit_random_intercept
from empathy_metrics.mixed._pls import block_stats, evaluate, gradient
from empathy_metrics.mixed._satterthwaite import numderiv_hessian, numderiv_jacobian
from empathy_metrics.scoring import score

REF = Path(__file__).parent / "reference"
RTOL_BALANCED = 1e-6
RTOL_UNBALANCED = 1e-4
RTOL_THETA, ATOL_THETA = 1e-6, 1e-6
RTOL_LME4_DEFAULT = 1e-4
RTOL_SATT = 1e-3
#: cohorts.json holds lme4 fits with default optimiser settings (see RTOL_LME4_DEFAULT).
RTOL_LMER = 1e-4
RTOL_REML = 1e-8

CASES = json.loads((REF / "mixed.json").read_text())["cases"]
REVERSE = [1, 3, 6, 7, 8, 11, 12, 14, 18, 19]


def _datasets() -> dict[str, pd.DataFrame]:
    dec = pd.read_csv(REF / "data" / "decline_sim.csv")
    keyed = dec[[f"JSE{i}" for i in range(1, 21)]].to_numpy(float)
    keyed[:, [r - 1 for r in REVERSE]] = 8 - keyed[:, [r - 1 for r in REVERSE]]
    dec["total"] = keyed.sum(axis=1)
    return {"sleepstudy": pd.read_csv(REF / "data" / "sleepstudy.csv"),
            "singular_sim": pd.read_csv(REF / "data" / "singular_sim.csv"),
            "decline_sim": dec}


DATA = _datasets()


def _fit_case(case: dict, **kwargs):
    spec = case["spec"]
    d = DATA[case["dataset"]]
    if spec["unbalanced"]:
        d = d[d["unbalanced"] == 1]
    cov = {k: d[k].to_numpy() for k in spec["covariates"]}
    return fit_mixed(d[spec["y"]].to_numpy(float), d[spec["time"]].to_numpy(),
                     d[spec["id"]].to_numpy(), categorical=spec["categorical"],
                     random_slope=spec["random_slope"], covariates=cov, factors=list(cov),
                     reml=case["reml"], **kwargs)


@pytest.fixture(scope="module")
def fits():
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        for name, case in CASES.items():
            out[name] = _fit_case(case)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_lme4_at_the_optimum(fits, name):
    case, fit = CASES[name], fits[name]
    rtol = RTOL_UNBALANCED if case["spec"]["unbalanced"] else RTOL_BALANCED
    want = list(case["terms"].values())
    got = list(fit.terms.values())
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g["estimate"] == pytest.approx(w["estimate"], rel=rtol)
        assert g["se"] == pytest.approx(w["se"], rel=rtol)
    assert fit.vcov == pytest.approx(np.array(case["vcov"]), rel=rtol,
                                     abs=rtol * np.abs(case["vcov"]).max())
    assert fit.theta == pytest.approx(np.atleast_1d(case["theta"]), rel=RTOL_THETA,
                                      abs=ATOL_THETA)
    assert fit.sigma == pytest.approx(case["sigma"], rel=rtol)
    assert fit.criterion == pytest.approx(case["deviance_crit"], rel=rtol)
    assert fit.loglik == pytest.approx(case["loglik"], rel=rtol)
    assert (fit.reml is None) == (not case["reml"])
    assert fit.method == ("REML" if case["reml"] else "ML")
    assert fit.sd_intercept == pytest.approx(case["sd_intercept"], rel=rtol, abs=1e-6)
    if case["spec"]["random_slope"]:
        assert fit.sd_slope == pytest.approx(case["sd_slope"], rel=rtol, abs=1e-6)
        # the correlation is θ21/|T row 2|: as precise as θ (ATOL_THETA)
        assert fit.cor_intercept_slope == pytest.approx(case["cor_intercept_slope"], rel=rtol,
                                                        abs=ATOL_THETA)
    assert (fit.n_obs, fit.n_groups) == (case["n_obs"], case["n_groups"])
    assert fit.singular == case["singular"]
    assert fit.converged


@pytest.mark.parametrize("name", sorted(CASES))
def test_satterthwaite_matches_lmertest(fits, name):
    case, fit = CASES[name], fits[name]
    for g, w in zip(fit.terms.values(), case["terms"].values(), strict=True):
        assert g["df"] == pytest.approx(w["df"], rel=RTOL_SATT)
        assert g["ci"] == pytest.approx(w["ci"], rel=RTOL_SATT)
        # p is a steep function of t: compare on the log scale
        assert np.log(g["p"]) == pytest.approx(np.log(w["p"]), rel=RTOL_SATT)
    frame = fit.to_frame()
    assert list(frame.columns) == ["estimate", "se", "df", "t", "ci_low", "ci_high", "p"]
    assert frame["t"].to_numpy() == pytest.approx([w["t"] for w in case["terms"].values()],
                                                  rel=RTOL_SATT)
    assert all("df" in t for t in fit.to_dict()["terms"].values())


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_lme4_default_optimiser(fits, name):
    case, fit = CASES[name], fits[name]
    for g, w in zip(fit.terms.values(), case["terms"].values(), strict=True):
        assert g["estimate"] == pytest.approx(w["estimate_default"], rel=RTOL_LME4_DEFAULT)
        assert g["se"] == pytest.approx(w["se_default"], rel=RTOL_LME4_DEFAULT)
    assert fit.sigma == pytest.approx(case["sigma_default"], rel=RTOL_LME4_DEFAULT)
    assert fit.loglik == pytest.approx(case["loglik_default"], rel=RTOL_LME4_DEFAULT)
    assert fit.singular == case["singular_default"]


def test_singular_fits_are_explained_in_plain_words():
    for name, what in (("singular_ri", "variance of the intercept is estimated as zero"),
                       ("singular_rs", "perfectly correlated")):
        with pytest.warns(DegenerateDataWarning, match="the model is singular") as rec:
            fit = _fit_case(CASES[name])
        assert what in str(rec[0].message)
        assert fit.singular and any(n.startswith("singular fit: the model is singular")
                                    for n in fit.notes)
    assert "drop the random slope" in fit.notes[0]


def test_slope_variance_zero_message():
    # every respondent has exactly the same slope: the slope variance is estimated at zero
    rng = np.random.default_rng(3)
    ids = np.repeat(np.arange(60), 4)
    t = np.tile(np.arange(4.0), 60)
    y = 10 + rng.normal(0, 2, 60)[ids] + 0.5 * t + rng.normal(0, 1, t.size)
    # remove any between-respondent slope from the noise by projecting it out per respondent
    with pytest.warns(DegenerateDataWarning, match="singular"):
        fit = fit_mixed(y - _within_slope(y, t, ids) * (t - 1.5), t, ids, categorical=False,
                        random_slope=True)
    assert fit.singular
    assert "variance of the slope is estimated as zero" in " ".join(fit.notes) or (
        "perfectly correlated" in " ".join(fit.notes))


def _within_slope(y, t, ids):
    """Per-observation: its respondent's OLS slope minus the mean slope."""
    frame = pd.DataFrame({"y": y, "t": t, "id": ids})
    tc = frame["t"] - frame.groupby("id")["t"].transform("mean")
    b = (tc * frame["y"]).groupby(frame["id"]).sum() / (tc**2).groupby(frame["id"]).sum()
    return (b - b.mean()).loc[ids].to_numpy()


# ------------------------------------------------------------------------------------------
# the existing references (tests/reference/cohorts.R, lme4 default optimiser)
# ------------------------------------------------------------------------------------------


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


def _check_terms(fit_terms, ref_terms):
    assert set(fit_terms) == set(ref_terms)
    for term, want in ref_terms.items():
        got = fit_terms[term]
        assert got["estimate"] == pytest.approx(want["estimate"], rel=RTOL_LMER), term
        assert got["se"] == pytest.approx(want["se"], rel=RTOL_LMER), term


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


# ------------------------------------------------------------------------------------------
# convergence, errors
# ------------------------------------------------------------------------------------------


def test_failed_convergence_check_warns(small, monkeypatch):
    # a zero gradient tolerance: lme4's scaled-gradient check cannot pass
    monkeypatch.setattr(_optimize, "GRAD_TOL", 0.0)
    with pytest.warns(DegenerateDataWarning, match="did not converge"):
        fit = fit_mixed(small["total"].to_numpy(), small["year"].to_numpy(),
                        small["id"].to_numpy(), categorical=False)
    assert not fit.converged and any(n.startswith("not converged") for n in fit.notes)
    assert "scaled gradient" in fit.notes[0]
    assert fit.to_dict()["converged"] is False


def test_non_convergence_reaches_trend_notes(small, monkeypatch):
    monkeypatch.setattr(_optimize, "GRAD_TOL", 0.0)
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
    # as many random effects as observations (lme4: "number of observations <= number of
    # random effects")
    with pytest.raises(DataError, match="too few respondents were seen more than once"):
        fit_mixed(np.arange(8.0), np.tile([1.0, 2.0], 4), np.repeat(list("abcd"), 2),
                  categorical=False, random_slope=True)


def test_rank_deficient_design_is_a_data_error():
    ids = np.repeat(np.arange(10), 2)
    t = np.tile([1, 2], 10)
    with pytest.raises(DataError, match="cannot all be estimated"):
        fit_mixed(np.arange(20.0), t, ids, categorical=False, covariates={"t2": 2.0 * t})


# ------------------------------------------------------------------------------------------
# the pieces: analytic gradient, numDeriv replicas; invariances
# ------------------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(hst.floats(0.05, 3), hst.floats(-1, 1), hst.floats(0.05, 3), hst.booleans(),
       hst.booleans())
def test_analytic_gradient_equals_finite_differences(t11, t21, t22, reml, unbalanced):
    d = DATA["sleepstudy"]
    if unbalanced:
        d = d[d["unbalanced"] == 1]
    codes, uniq = pd.factorize(d["Subject"])
    X = np.column_stack([np.ones(len(d)), d["Days"], d["group"] == "odd"])
    Z = np.column_stack([np.ones(len(d)), d["Days"]])
    st = block_stats(d["Reaction"].to_numpy(float), X, Z, codes, uniq.size)
    theta = np.array([t11, t21, t22])
    g = gradient(evaluate(theta, st), st, reml)
    # differentiate in δ at 0 (numDeriv then steps 1e-4 in every component, Richardson)
    fd = numderiv_jacobian(
        lambda dl: np.array([evaluate(theta + dl, st).criterion(st.n, reml)]), np.zeros(3))[0]
    assert g == pytest.approx(fd, rel=1e-6, abs=1e-6)


def test_numderiv_replicas_are_exact_on_polynomials():
    def f(x):
        return x[0] ** 3 * x[1] + 2 * x[1] ** 2 - x[0] * x[2] + 5

    x = np.array([1.3, -0.7, 0.0])
    h = numderiv_hessian(f, x)
    want = np.array([[6 * x[0] * x[1], 3 * x[0] ** 2, -1], [3 * x[0] ** 2, 4, 0], [-1, 0, 0]])
    assert h == pytest.approx(want, abs=1e-7)
    j = numderiv_jacobian(lambda v: np.array([f(v), v[0] * v[1]]), x)
    assert j == pytest.approx(np.array([[3 * x[0] ** 2 * x[1] - x[2], x[0] ** 3 + 4 * x[1],
                                         -x[0]], [x[1], x[0], 0]]), abs=1e-8)


@pytest.fixture(scope="module")
def sleep_unbalanced():
    d = DATA["sleepstudy"]
    return d[d["unbalanced"] == 1].reset_index(drop=True)


def _fit_sleep(d, y=None, **kwargs):
    y = d["Reaction"].to_numpy(float) if y is None else y
    return fit_mixed(y, d["Days"].to_numpy(), d["Subject"].to_numpy(), categorical=False,
                     random_slope=True, **kwargs)


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hst.floats(-500, 500), hst.floats(0.01, 100), hst.integers(0, 2**31 - 1))
def test_location_scale_and_order_invariance(sleep_unbalanced, shift, scale, seed):
    """y -> a + b·y: intercept -> a + b·β0, other β, SEs and σ times b, θ unchanged;
    the row order and the id labels do not matter."""
    d = sleep_unbalanced
    base = _fit_sleep(d)
    perm = np.random.default_rng(seed).permutation(len(d))
    dp = d.iloc[perm].reset_index(drop=True)
    dp["Subject"] = "id-" + dp["Subject"].astype(str)
    moved = _fit_sleep(dp, shift + scale * dp["Reaction"].to_numpy(float))
    assert moved.theta == pytest.approx(base.theta, rel=1e-5, abs=1e-6)
    assert moved.sigma == pytest.approx(scale * base.sigma, rel=1e-6)
    b0, m0 = base.terms["Intercept"], moved.terms["Intercept"]
    assert m0["estimate"] == pytest.approx(shift + scale * b0["estimate"], rel=1e-6, abs=1e-6)
    assert moved.terms["time"]["estimate"] == pytest.approx(
        scale * base.terms["time"]["estimate"], rel=1e-6)
    for name in base.terms:
        assert moved.terms[name]["se"] == pytest.approx(scale * base.terms[name]["se"], rel=1e-5)
        assert moved.terms[name]["df"] == pytest.approx(base.terms[name]["df"], rel=1e-4)


def test_each_fit_minimises_its_own_criterion(sleep_unbalanced):
    """The ML optimum has a lower ML deviance than the REML θ, and vice versa."""
    d = sleep_unbalanced
    reml = _fit_sleep(d)
    ml = _fit_sleep(d, reml=False)
    codes, uniq = pd.factorize(d["Subject"])
    X = np.column_stack([np.ones(len(d)), d["Days"]])
    st = block_stats(d["Reaction"].to_numpy(float), X, X.copy(), codes, uniq.size)
    for fit, is_reml, other in ((reml, True, ml), (ml, False, reml)):
        here = evaluate(np.array(fit.theta), st).criterion(st.n, is_reml)
        there = evaluate(np.array(other.theta), st).criterion(st.n, is_reml)
        assert here == pytest.approx(fit.criterion, rel=1e-12) and here < there
    assert ml.formula.endswith(", ML") and reml.formula.endswith(", REML")


def test_engine_entry_point_with_design_matrices(sleep_unbalanced):
    d = sleep_unbalanced
    codes, uniq = pd.factorize(d["Subject"])
    X = np.column_stack([np.ones(len(d)), d["Days"]])
    lmm = fit_lmm(d["Reaction"].to_numpy(float), X, codes, uniq.size,
                  np.column_stack([np.ones(len(d)), d["Days"]]), satterthwaite=False)
    case = CASES["sleep_unbalanced_rs_linear"]
    assert lmm.beta == pytest.approx([t["estimate"] for t in case["terms"].values()], rel=1e-6)
    assert np.isnan(lmm.df).all()
    assert lmm.cov_re[0, 0] == pytest.approx(case["sd_intercept"] ** 2, rel=1e-6)


def test_summary_and_html(fits):
    fit = fits["sleep_balanced_rs_linear_group"]
    text = fit.summary()
    assert "factor(group)" in text and "Satterthwaite" in text and "group[odd]" in text
    assert "<table" in fit._repr_html_()
