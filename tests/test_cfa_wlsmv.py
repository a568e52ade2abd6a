"""WLSMV for ordered items (issue 13, item 1) against lavaan 0.6-14
(tests/reference/wlsmv.json, written by wlsmv.R): ``cfa(model, data, ordered = items,
estimator = "WLSMV")`` on psych's bfi (A/C, 6 categories), psychTools' ability (16 binary
items, four factors) and HolzingerSwineford1939 cut at its quartiles.

The estimator is checked twice: on lavaan's own sample statistics (thresholds, polychorics,
Gamma, DWLS weights exported into the JSON), which isolates the DWLS fit, robust SEs and the
scaled-shifted test, and end to end from the raw data through ``cfa(..., estimator="wlsmv")``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from empathy_metrics import _sem
from empathy_metrics.cfa import FIT_KEYS, cfa, modindices, result_from
from empathy_metrics.errors import DegenerateDataError, InputError

from .conftest import jse_sim_responses
from .test_cfa import REF_DIR, assert_parameters_match

REF = json.loads((REF_DIR / "wlsmv.json").read_text())
#: the issue's tolerance for iterative quantities (absolute), as tests/test_cfa.py
ITERATIVE_TOL = 1e-3
#: lavaan's fitMeasures name for each of our WLSMV fit keys
LAVAAN_NAME = {"scaling_factor": "chisq_scaling_factor", "shift_parameter": "shift"}
WLSMV_KEYS = (*FIT_KEYS, *_sem.SCALED_KEYS, "shift_parameter")


def lavaan_groups(ref: dict) -> list[SimpleNamespace]:
    """One group's ordinal statistics exactly as lavaan computed them (WLS.obs, Gamma,
    diag(WLS.V)), in the layout of ``ordinal_stats.OrdinalGroupStats``."""
    items = ref["items"]
    p = len(items)
    n_th = [sum(1 for op, lhs in zip(ref["params"]["op"], ref["params"]["lhs"], strict=True)
                if op == "|" and lhs == v) for v in items]
    s = np.asarray(ref["wls_obs"], dtype=float)
    corr = np.eye(p)
    at = sum(n_th)
    for j in range(p):
        for i in range(j + 1, p):
            corr[i, j] = corr[j, i] = s[at]
            at += 1
    cuts = np.cumsum([0, *n_th])
    return [SimpleNamespace(label=None, n=ref["fit"]["n"], stats_vector=s,
                            gamma=np.asarray(ref["gamma"], dtype=float),
                            wls_weights=np.asarray(ref["wls_v"], dtype=float), corr=corr,
                            thresholds=[s[a:b] for a, b in zip(cuts[:-1], cuts[1:],
                                                                 strict=True)])]


def assert_wlsmv_fit_matches(fit: dict, ref: dict) -> None:
    """Every WLSMV fit key agrees with lavaan's fitMeasures (aic/bic: none under WLSMV)."""
    assert list(fit) == list(WLSMV_KEYS)
    assert fit["df"] == ref["df"] == fit["df_scaled"]
    for key in WLSMV_KEYS:
        if key in ("aic", "bic"):
            assert math.isnan(fit[key])
            continue
        if key in ("rmsea_ci", "rmsea_ci_scaled"):
            suffix = "_scaled" if key.endswith("scaled") else ""
            want = [ref[f"rmsea_ci_lower{suffix}"], ref[f"rmsea_ci_upper{suffix}"]]
        else:
            want = ref[LAVAAN_NAME.get(key, key)]
        assert fit[key] == pytest.approx(want, abs=ITERATIVE_TOL), key


@pytest.mark.parametrize("case", ["bfi", "ability", "hs"])
def test_dwls_on_lavaan_sample_statistics(case):
    """Given lavaan's thresholds, polychorics and Gamma: estimates, robust SEs, std.all,
    thresholds, the scaled-shifted test and every fit measure equal lavaan's."""
    ref = REF[case]
    spec = _sem.parse_model(ref["model"])
    est = _sem.fit_dwls(spec, lavaan_groups(ref))
    res = result_from(est, spec, 0, None, "CFA")
    assert res.npar == ref["fit"]["npar"]
    assert_wlsmv_fit_matches(res.fit, ref["fit"])
    assert_parameters_match(res.parameters, ref["params"])
    # much closer than the tolerance: lavaan's own convergence
    assert res.fit["chisq"] == pytest.approx(ref["fit"]["chisq"], abs=1e-5)
    assert res.fit["chisq_scaled"] == pytest.approx(ref["fit"]["chisq_scaled"], abs=1e-5)


def test_ability_binary_items_fit_as_in_the_issue():
    """The issue's measurement: on ability, CFI is .983 under ML but 1.000 under WLSMV."""
    ref = REF["ability"]
    est = _sem.fit_dwls(_sem.parse_model(ref["model"]), lavaan_groups(ref))
    fit = _sem.fit_measures(est)
    assert round(fit["cfi"], 3) == 1.0
    assert fit["chisq"] < fit["chisq_scaled"]  # binary items: a < 1, positive shift


def test_independence_model_trace_is_the_number_of_correlations():
    """Baseline U*Gamma has trace = number of correlations (W = 1/diag Gamma): a property of
    the scaled-shifted baseline that follows from its definition."""
    ref = REF["hs"]
    groups = lavaan_groups(ref)
    base = _sem.dwls.baseline_dwls(groups, 27)
    assert base["df"] == 36
    assert base["trace_ug"] == pytest.approx(36, abs=1e-9)
    assert base["chisq_scaled"] == pytest.approx(ref["fit"]["baseline_chisq_scaled"], abs=1e-6)


def test_jacobian_matches_finite_differences():
    """The analytic derivative of the implied thresholds/correlations (with free intercepts,
    scales and latent means, as in a Wu-Estabrook model) equals central differences."""
    spec = _sem.parse_model("F =~ a + b + c\nG =~ d + e + f\nc ~~ d")
    s = _sem.OrdinalStructure(spec, [2, 3, 1, 2, 2, 3], 2,
                              equal=("thresholds", "loadings", "intercepts"),
                              partial=frozenset({("nu", 1, 0)}))
    rng = np.random.default_rng(13)
    theta = rng.uniform(0.2, 0.8, s.q)
    for g in (0, 1):
        jac = s.stats_jacobian(theta, g)
        num = np.empty_like(jac)
        for a in range(s.q):
            up, dn = theta.copy(), theta.copy()
            up[a] += 1e-6
            dn[a] -= 1e-6
            num[:, a] = (s.implied_stats(up, g) - s.implied_stats(dn, g)) / 2e-6
        np.testing.assert_allclose(jac, num, atol=1e-8)


def test_structure_counts_follow_wu_estabrook():
    """Free parameters of the Wu & Estabrook (2016) sequence on bfi A/C by gender, as
    semTools::measEq.syntax + lavaan count them (122, 92, 84, 76)."""
    spec = _sem.parse_model("A =~ A1 + A2 + A3 + A4 + A5\nC =~ C1 + C2 + C3 + C4 + C5")
    spec = dataclasses.replace(spec, std_lv=True)
    steps = [(), ("thresholds",), ("thresholds", "loadings"),
             ("thresholds", "loadings", "intercepts")]
    counts = [_sem.OrdinalStructure(spec, [5] * 10, 2, equal=eq).q for eq in steps]
    assert counts == [122, 92, 84, 76]


def test_residual_variance_of_ordered_item_is_refused():
    spec = _sem.parse_model("F =~ a + b + c\na ~~ 0.5*a")
    with pytest.raises(InputError, match="not a parameter under WLSMV"):
        _sem.OrdinalStructure(spec, [1, 1, 1])


@pytest.fixture(scope="module")
def hs_quartiles():
    return pd.read_csv(REF_DIR / "data" / "hs_quartiles.csv")


# ---------------------------------------------------------------------------------------------
# end to end: raw data -> ordinal statistics (ordinal_stats) -> WLSMV
# ---------------------------------------------------------------------------------------------

DATA = {"bfi": "bfi.csv", "ability": "ability.csv", "hs": "hs_quartiles.csv",
        "hs_std_lv": "hs_quartiles.csv", "bfi_pairwise": "bfi.csv",
        "ability_pairwise": "ability.csv"}


@pytest.mark.parametrize("case", list(DATA))
def test_cfa_wlsmv_matches_lavaan(case):
    """cfa(..., estimator="wlsmv") = lavaan cfa(ordered=, estimator="WLSMV"): n (listwise),
    npar, every fit measure, every parameter (thresholds, fixed residual variances, scaling
    factors included). The HS std.lv case adds a residual covariance and a fixed factor
    covariance; the *_pairwise cases use lavaan's missing = "pairwise" (every answer; n =
    rows with at least one answer: 2800 and 1509 instead of 2632 and 1248)."""
    ref = REF[case]
    data = pd.read_csv(REF_DIR / "data" / DATA[case])
    res = cfa(data, model=ref["model"], estimator="wlsmv", std_lv=ref.get("std_lv", False),
              missing=ref.get("missing", "listwise"))
    assert res.missing == ref.get("missing", "listwise")
    assert res.n == ref["fit"]["n"] and res.n_dropped == len(data) - res.n
    assert res.npar == ref["fit"]["npar"] and res.estimator == "wlsmv"
    assert_wlsmv_fit_matches(res.fit, ref["fit"])
    assert_parameters_match(res.parameters, ref["params"])
    assert res.fit["chisq_scaled"] == pytest.approx(ref["fit"]["chisq_scaled"], abs=1e-4)
    text = res.summary()
    assert "WLSMV" in text and "shift" in text and "AIC" not in text
    out = res.to_dict()
    assert out["estimator"] == "wlsmv" and list(out["fit"]) == list(WLSMV_KEYS)


def test_wlsmv_options_and_errors(hs_quartiles):
    model = REF["hs"]["model"]
    with pytest.raises(InputError, match="missing 'fiml' needs a likelihood"):
        cfa(hs_quartiles, model=model, estimator="wlsmv", missing="fiml")
    with pytest.raises(InputError, match="'pairwise' works with estimator 'wlsmv' only"):
        cfa(hs_quartiles, model=model, estimator="mlr", missing="pairwise")
    with pytest.raises(InputError, match="not an ordinal invariance step"):
        cfa(hs_quartiles, model=model, estimator="wlsmv", group="school",
            group_equal=["loadings"])
    res = cfa(hs_quartiles, model=model, estimator="WLSMV")
    with pytest.raises(InputError, match="ML and MLR fits only"):
        modindices(res)
    # a constant item: named, with advice (from the ordinal statistics)
    const = hs_quartiles.assign(x2=1)
    with pytest.raises(DegenerateDataError, match="x2"):
        cfa(const, model=model, estimator="wlsmv")


@pytest.fixture(scope="module")
def jse_raw():
    """Raw JSE-S answers (1-7) of the simulated jse_sim.csv, reverse keying undone."""
    return jse_sim_responses()[1]


def test_wlsmv_jse_instrument_keys_items(jse_raw):
    """With an instrument the reverse-keyed answers are the ordered categories. Reversing an
    item's codes only flips the signs of its thresholds and polychorics, so the raw (unkeyed)
    answers fitted by the same model give the same fit, and the same standardised loadings
    and factor correlations up to sign."""
    keyed = cfa(jse_raw, "jse-s", estimator="wlsmv")
    assert keyed.n == 500 and keyed.fit["df"] == 167
    raw = cfa(jse_raw, model=keyed.model.to_syntax(), estimator="wlsmv")
    for key in ("chisq", "chisq_scaled", "cfi_scaled", "rmsea_scaled", "srmr"):
        assert raw.fit[key] == pytest.approx(keyed.fit[key], abs=1e-6), key
    np.testing.assert_allclose(np.abs(raw.loadings["std"]), np.abs(keyed.loadings["std"]),
                               atol=1e-6)
    np.testing.assert_allclose(np.abs(raw.factor_correlations),
                               np.abs(keyed.factor_correlations), atol=1e-6)

    def thresholds(res, item):
        par = res.parameters
        return par[(par["op"] == "|") & (par["lhs"] == item)]["estimate"].to_numpy()

    # JSE1 is reverse-keyed: its raw thresholds are the keyed ones mirrored; JSE2 is not
    np.testing.assert_allclose(thresholds(raw, "JSE1"), -thresholds(keyed, "JSE1")[::-1],
                               atol=1e-8)
    np.testing.assert_allclose(thresholds(raw, "JSE2"), thresholds(keyed, "JSE2"), atol=1e-8)


def test_non_convergence_is_a_plain_error():
    """Too few iterations: a DegenerateDataError that says what to try, not a traceback."""
    ref = REF["hs"]
    with pytest.raises(DegenerateDataError, match="did not converge after 2 iterations") as exc:
        _sem.fit_dwls(_sem.parse_model(ref["model"]), lavaan_groups(ref), max_iter=2)
    assert "collapse rare categories" in exc.value.hint
