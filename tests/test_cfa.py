"""CFA and measurement invariance against lavaan 0.6-14 (tests/reference/cfa.json, cfa.R)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from empathy_metrics import _sem
from empathy_metrics.cfa import FIT_KEYS, cfa, invariance, parse_model
from empathy_metrics.errors import (
    DataError,
    DegenerateDataError,
    DegenerateDataWarning,
    InputError,
)
from empathy_metrics.instruments import load_instrument

from .conftest import jse_sim_responses

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "cfa.json").read_text())
#: the issue's tolerance for iterative quantities (fit indices, chi-square, loadings, SEs,
#: standardised loadings, invariance fits): absolute.
ITERATIVE_TOL = 1e-3
HS_MODEL = REF["hs"]["model"]


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(REF_DIR / "data" / "HolzingerSwineford1939.csv")


@pytest.fixture(scope="module")
def jse_raw():
    """jse_sim.csv as raw JSE-S answers: simulated factors 1-3 (q1-q10, q11-q18, q19-q20) are
    the three subscales in order, and the reverse keying is undone (as cfa.R does)."""
    inst, raw = jse_sim_responses()
    raw["year"] = np.repeat([1, 2, 3], [167, 167, 166])
    return raw[inst.item_ids + ["year"]]


def assert_fit_matches(fit: dict, ref: dict) -> None:
    assert list(fit) == list(FIT_KEYS)
    assert fit["df"] == ref["df"]
    for key in ("chisq", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
        assert fit[key] == pytest.approx(ref[key], abs=ITERATIVE_TOL), key
    if ref["df"] > 0:
        assert fit["pvalue"] == pytest.approx(ref["pvalue"], abs=ITERATIVE_TOL)
    assert fit["rmsea_ci"][0] == pytest.approx(ref["rmsea_ci_lower"], abs=ITERATIVE_TOL)
    assert fit["rmsea_ci"][1] == pytest.approx(ref["rmsea_ci_upper"], abs=ITERATIVE_TOL)


def assert_parameters_match(params: pd.DataFrame, ref: dict) -> None:
    """Every lavaan parameter (estimate, se, std.all) is found and agrees."""
    want = pd.DataFrame(ref)
    want["rhs"] = want["rhs"].fillna("")
    got = params.copy()
    got["group"] = got["group"].astype(str) if "group" in got else ""
    key = ["group", "lhs", "op", "rhs"]
    merged = want.merge(got, on=key, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"][key]
    np.testing.assert_allclose(merged["estimate"], merged["est"], atol=ITERATIVE_TOL, rtol=0)
    np.testing.assert_allclose(merged["std_x"], merged["std_y"], atol=ITERATIVE_TOL, rtol=0)
    fixed = merged["se_y"].isna()
    # parameters fixed for identification: lavaan reports se 0, we report no se
    assert (merged.loc[fixed, "se_x"] == 0).all()
    np.testing.assert_allclose(merged.loc[~fixed, "se_y"], merged.loc[~fixed, "se_x"],
                               atol=ITERATIVE_TOL, rtol=0)


# ---------------------------------------------------------------------------------------------
# single-group CFA against lavaan
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["hs", "hs_cov"])
def test_holzinger_swineford_matches_lavaan(hs, case):
    ref = REF[case]
    res = cfa(hs, model=ref["model"])
    assert res.n == ref["fit"]["n"] == 301
    assert res.npar == ref["fit"]["npar"]
    assert res.loglik == pytest.approx(ref["fit"]["logl"], abs=ITERATIVE_TOL)
    assert_fit_matches(res.fit, ref["fit"])
    assert_parameters_match(res.parameters, ref["params"])


def test_jse_instrument_subscales_match_lavaan(jse_raw):
    ref = REF["jse"]
    res = cfa(jse_raw, "jse-s")
    assert res.n == 500 and res.n_dropped == 0
    assert res.model.factors == ["perspective_taking", "compassionate_care",
                                 "standing_in_patients_shoes"]
    assert res.model.to_syntax() == ref["model"]
    assert_fit_matches(res.fit, ref["fit"])
    assert_parameters_match(res.parameters, ref["params"])
    lo = res.loadings
    assert list(lo.columns) == ["factor", "item", "estimate", "se", "std"]
    assert len(lo) == 20 and lo.groupby("factor").size()["standing_in_patients_shoes"] == 2
    # markers fixed at 1 without SE
    firsts = lo.groupby("factor", sort=False).head(1)
    assert (firsts["estimate"] == 1.0).all() and firsts["se"].isna().all()


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(REF_DIR / "data" / "bfi.csv")


@pytest.mark.parametrize("case", ["bfi5", "bfi1"])
def test_bfi_with_missing_answers_matches_lavaan(bfi, case):
    """Listwise deletion as lavaan; negatively keyed markers; a badly misfitting model
    (bfi1) that Fisher scoring alone converges on only slowly."""
    ref = REF[case]
    res = cfa(bfi, model=ref["model"])
    assert res.n == ref["fit"]["n"]
    assert res.n_dropped == len(bfi) - ref["fit"]["n"]
    assert_fit_matches(res.fit, ref["fit"])
    assert_parameters_match(res.parameters, ref["params"])


def test_factor_matrices_and_residuals(hs):
    res = cfa(hs, model=HS_MODEL)
    ref = pd.DataFrame(REF["hs"]["params"])
    cov = res.factor_covariances
    corr = res.factor_correlations
    vis_txt = ref[(ref.lhs == "visual") & (ref.op == "~~") & (ref.rhs == "textual")].iloc[0]
    assert cov.loc["visual", "textual"] == pytest.approx(vis_txt["est"], abs=ITERATIVE_TOL)
    assert corr.loc["textual", "visual"] == pytest.approx(vis_txt["std"], abs=ITERATIVE_TOL)
    assert np.allclose(np.diag(corr), 1.0)
    np.testing.assert_allclose(corr, corr.T)
    x1 = ref[(ref.lhs == "x1") & (ref.op == "~~") & (ref.rhs == "x1")].iloc[0]
    assert res.residual_variances["x1"] == pytest.approx(x1["est"], abs=ITERATIVE_TOL)
    assert list(res.residual_variances.index) == [f"x{i}" for i in range(1, 10)]


def test_rescaling_items_changes_loadings_not_fit(hs):
    """ML is scale invariant: doubling an item doubles its loading, nothing else changes."""
    base = cfa(hs, model=HS_MODEL)
    scaled = hs.copy()
    scaled["x2"] = 2 * scaled["x2"] + 5
    res = cfa(scaled, model=HS_MODEL)
    for key in ("chisq", "cfi", "tli", "rmsea", "srmr"):
        assert res.fit[key] == pytest.approx(base.fit[key], abs=1e-8)
    x2 = res.loadings.set_index("item").loc["x2"]
    x2_base = base.loadings.set_index("item").loc["x2"]
    assert x2["estimate"] == pytest.approx(2 * x2_base["estimate"], rel=1e-7)
    assert x2["std"] == pytest.approx(x2_base["std"], abs=1e-8)
    # log-likelihood shifts by -N log 2 for the doubled variable
    assert res.loglik == pytest.approx(base.loglik - 301 * math.log(2), abs=1e-6)


def test_listwise_deletion_is_counted(hs):
    data = hs.copy()
    data.loc[:9, "x1"] = np.nan
    data.loc[5:14, "x9"] = np.nan
    res = cfa(data, model=HS_MODEL)
    assert res.n == 301 - 15 and res.n_dropped == 15
    assert "15 with a missing answer dropped" in res.summary()
    direct = cfa(hs.drop(index=range(15)), model=HS_MODEL)
    assert res.fit["chisq"] == pytest.approx(direct.fit["chisq"], rel=1e-10)


def test_column_map_and_reverse_keying(jse_raw):
    renamed = jse_raw.rename(columns={f"JSE{i}": f"item_{i:02d}" for i in range(1, 21)})
    mapping = {f"JSE{i}": f"item_{i:02d}" for i in range(1, 21)}
    res = cfa(renamed, "jse-s", columns=mapping)
    assert res.fit["chisq"] == pytest.approx(REF["jse"]["fit"]["chisq"], abs=ITERATIVE_TOL)
    # without reverse keying the compassionate-care items would load negatively on their
    # marker JSE1 (also reversed): keyed loadings are all positive
    assert (res.loadings["estimate"] > 0).all()


def test_model_string_over_instrument_items(jse_raw):
    res = cfa(jse_raw, "jse-s", "PT =~ JSE2 + JSE4 + JSE5 + JSE9  # four items\n")
    assert res.model.factors == ["PT"] and res.fit["df"] == 2
    assert res.to_dict()["loadings"][0] == {"factor": "PT", "item": "JSE2", "estimate": 1.0,
                                            "se": None, "std": res.loadings["std"][0]}


def test_to_dict_shape_and_json(hs):
    res = cfa(hs, model=HS_MODEL)
    out = json.loads(res.to_json())
    assert set(out) == {"n", "estimator", "missing", "fit", "loadings"}
    assert out["n"] == 301
    assert list(out["fit"]) == list(FIT_KEYS)
    assert isinstance(out["fit"]["df"], int) and len(out["fit"]["rmsea_ci"]) == 2
    assert len(out["loadings"]) == 9
    assert set(out["loadings"][1]) == {"factor", "item", "estimate", "se", "std"}
    assert out["loadings"][1]["se"] == pytest.approx(
        REF["hs"]["params"]["se"][1], abs=ITERATIVE_TOL)
    assert res.to_frame().equals(res.loadings) and res.to_frame() is not res.loadings  # a copy


def test_summary_and_html(hs):
    res = cfa(hs, model=HS_MODEL)
    text = res.summary()
    assert "n = 301" in text and "CFI = 0.931" in text and "RMSEA = 0.092" in text
    assert "Factor correlations" in text
    page = res._repr_html_()
    assert page.startswith("<div") and "SRMR" in page and "visual" in page


# ---------------------------------------------------------------------------------------------
# measurement invariance against lavaan
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hs_invariance(hs):
    return invariance(hs, None, "school", model=HS_MODEL)


def _check_invariance(res, ref):
    assert res.groups == ref["groups"] or [str(g) for g in res.groups] == ref["groups"]
    for label, n in ref["n"].items():
        assert {str(k): v for k, v in res.group_sizes.items()}[label] == n
    for name in ("configural", "metric", "scalar"):
        assert_fit_matches(getattr(res, name), ref["fits"][name])
        assert res.models[name].npar == ref["fits"][name]["npar"]
        assert_parameters_match(res.models[name].parameters, ref["params"][name])
    comp = res.comparisons
    np.testing.assert_allclose(comp["chisq_diff"], ref["lrt"]["chisq_diff"], atol=ITERATIVE_TOL)
    assert list(comp["df_diff"]) == ref["lrt"]["df_diff"]
    np.testing.assert_allclose(comp["pvalue"], ref["lrt"]["pvalue"], atol=ITERATIVE_TOL)
    fits = ref["fits"]
    np.testing.assert_allclose(
        comp["delta_cfi"], [fits["metric"]["cfi"] - fits["configural"]["cfi"],
                            fits["scalar"]["cfi"] - fits["metric"]["cfi"]], atol=ITERATIVE_TOL)
    np.testing.assert_allclose(
        comp["delta_rmsea"], [fits["metric"]["rmsea"] - fits["configural"]["rmsea"],
                              fits["scalar"]["rmsea"] - fits["metric"]["rmsea"]],
        atol=ITERATIVE_TOL)


def test_invariance_by_school_matches_lavaan(hs_invariance):
    _check_invariance(hs_invariance, REF["hs_invariance"])


def test_invariance_verdict_metric_but_not_scalar(hs_invariance):
    res = hs_invariance
    assert list(res.comparisons["holds"]) == [True, False]
    assert res.sound is False
    assert "Metric invariance holds" in res.verdict and "scalar invariance does not" in res.verdict
    assert "fits poorly" not in res.verdict  # configural CFI .923 >= .90, RMSEA .097 <= .10
    # asking for the RMSEA criterion too changes nothing here (metric ΔRMSEA is negative)
    strict = invariance(pd.read_csv(REF_DIR / "data" / "HolzingerSwineford1939.csv"), None,
                        "school", model=HS_MODEL, rmsea_cutoff=0.001)
    assert list(strict.comparisons["holds"]) == [True, False]
    # a one-factor model of the nine tests fits the configural model badly: the verdict says so
    one = invariance(pd.read_csv(REF_DIR / "data" / "HolzingerSwineford1939.csv"), None,
                     "school", model="g =~ " + " + ".join(f"x{i}" for i in range(1, 10)))
    assert "the configural model itself fits poorly" in one.verdict


def test_invariance_three_years_jse_matches_lavaan(jse_raw):
    res = invariance(jse_raw, "jse-s", "year")
    _check_invariance(res, REF["jse_invariance"])
    assert res.groups == [1, 2, 3]
    assert res.sound is True and "Scalar invariance holds" in res.verdict
    # latent means are fixed at 0 in the first year and estimated in the others
    means = res.models["scalar"].parameters.query("kind == 'mean'")
    assert (means[means.group == 1]["estimate"] == 0).all()
    assert means[means.group == 1]["se"].isna().all()
    assert means[means.group == 2]["se"].notna().all()


def test_invariance_by_gender_with_missing_answers_matches_lavaan(bfi):
    ref = REF["bfi_invariance"]
    res = invariance(bfi, None, "gender", model=ref["model"])
    assert res.n_dropped == len(bfi) - sum(ref["n"].values())
    _check_invariance(res, ref)
    fits = ref["fits"]
    # lavaan's CFI changes: metric -0.0005, scalar -0.0069: both within .01
    expected = [fits["metric"]["cfi"] - fits["configural"]["cfi"] >= -0.01,
                fits["scalar"]["cfi"] - fits["metric"]["cfi"] >= -0.01]
    assert expected == [True, True]
    assert list(res.comparisons["holds"]) == expected and res.sound
    # yet the chi-square difference test rejects equal intercepts (n = 2632)
    assert res.comparisons["pvalue"][1] < 1e-5


def test_invariance_to_dict_shape(hs_invariance):
    out = json.loads(hs_invariance.to_json())
    assert list(out) == ["groups", "configural", "metric", "scalar", "comparisons", "partial",
                         "design", "estimator", "missing", "verdict"]
    assert (out["design"], out["estimator"], out["missing"]) == ("multigroup", "ml", "listwise")
    assert out["groups"] == ["Grant-White", "Pasteur"]
    for name in ("configural", "metric", "scalar"):
        assert list(out[name]) == list(FIT_KEYS)
    assert [c["comparison"] for c in out["comparisons"]] == ["metric vs configural",
                                                             "scalar vs metric"]
    assert set(out["comparisons"][0]) == {"comparison", "chisq_diff", "df_diff", "pvalue",
                                          "delta_cfi", "delta_rmsea", "holds"}
    assert isinstance(out["verdict"], str) and out["verdict"]
    text = hs_invariance.summary()
    assert "Grant-White (n = 145)" in text and "scalar vs metric" in text
    assert "<table" in hs_invariance._repr_html_()


def test_invariance_drops_missing_group_and_items(hs):
    data = hs.copy()
    data.loc[:3, "school"] = None
    data.loc[10:11, "x5"] = np.nan
    res = invariance(data, None, "school", model=HS_MODEL)
    assert res.n_dropped == 6
    assert sum(res.group_sizes.values()) == 295
    # a numeric group column with gaps is read as float; labels stay integers
    data["grade"] = data["grade"].astype(float)
    data.loc[20:22, "grade"] = np.nan
    by_grade = invariance(data, None, "grade", model=HS_MODEL)
    assert by_grade.groups == [7, 8] and json.loads(by_grade.to_json())["groups"] == [7, 8]
    items = [f"x{i}" for i in range(1, 10)]
    expected = int((data[items].isna().any(axis=1) | data["grade"].isna()).sum())
    assert by_grade.n_dropped == expected == 2 + 3 + 1  # x5, the new gaps, one NA in the file


# ---------------------------------------------------------------------------------------------
# degenerate data and bad input
# ---------------------------------------------------------------------------------------------


def test_constant_item_is_a_clear_error(hs):
    data = hs.copy()
    data["x2"] = 3.0
    with pytest.raises(DegenerateDataError, match="x2 have no variance"):
        cfa(data, model=HS_MODEL)


def test_collinear_items_are_a_clear_error(hs):
    data = hs.copy()
    data["x3"] = 2 * data["x1"] + 1
    with pytest.raises(DegenerateDataError, match="perfectly collinear.*x1 and x3"):
        cfa(data, model=HS_MODEL)


def test_fewer_respondents_than_items(hs):
    with pytest.raises(DataError, match="8 complete respondent.*9 items"):
        cfa(hs.head(8), model=HS_MODEL)


def test_non_convergence_is_an_error_not_nan(hs):
    # 10 respondents for 9 items: lavaan does not converge either
    with pytest.raises(DegenerateDataError, match="did not converge"):
        cfa(hs.head(10), model=HS_MODEL)


def test_heywood_case_warns():
    rng = np.random.default_rng(3)
    cov = np.array([[1, 0.8, 0.8], [0.8, 1, 0.5], [0.8, 0.5, 1]])
    data = pd.DataFrame(rng.multivariate_normal(np.zeros(3), cov, 500), columns=list("abc"))
    with pytest.warns(DegenerateDataWarning, match="negative residual variance for a"):
        res = cfa(data, model="F =~ a + b + c")
    assert res.residual_variances["a"] < 0
    assert res.fit["df"] == 0 and math.isnan(res.fit["pvalue"])
    assert "saturated" in res.summary() and res.warnings


def test_factor_correlation_beyond_one_warns():
    """decline_sim.csv is one-dimensional: three JSE factors are not distinct."""
    data = pd.read_csv(REF_DIR / "data" / "decline_sim.csv")
    with pytest.warns(DegenerateDataWarning, match="not positive definite"):
        res = cfa(data, "jse-s")
    assert np.linalg.eigvalsh(res.factor_covariances.to_numpy())[0] <= 0


def test_small_group_is_a_clear_error():
    data = pd.read_csv(REF_DIR / "data" / "decline_sim.csv")
    with pytest.raises(DataError, match=r"'nonbinary' \(n = 4\).*20 items"):
        invariance(data, "jse-s", "gender")


def test_invariance_needs_two_groups_and_the_column(hs):
    with pytest.raises(DataError, match="at least two"):
        invariance(hs[hs.school == "Pasteur"], None, "school", model=HS_MODEL)
    with pytest.raises(InputError, match="group column 'schol' not found"):
        invariance(hs, None, "schol", model=HS_MODEL)


def test_constant_item_within_a_group(hs):
    data = hs.copy()
    data.loc[data.school == "Pasteur", "x4"] = 2.0
    with pytest.raises(DegenerateDataError, match="x4 have no variance in group 'Pasteur'"):
        invariance(data, None, "school", model=HS_MODEL)


def test_missing_variables_and_missing_model(hs, jse_raw):
    with pytest.raises(InputError, match="model variable 'y3' is not a column"):
        cfa(hs, model="F =~ x1 + x2 + y3")
    with pytest.raises(InputError, match="'q3' is not an item of instrument 'jse-s'"):
        cfa(jse_raw, "jse-s", "F =~ JSE1 + JSE2 + q3")
    with pytest.raises(InputError, match="give an instrument"):
        cfa(hs)
    bad = hs.copy().astype({"x1": object})
    bad.loc[3, "x1"] = "n/a?"
    with pytest.raises(InputError, match="'n/a\\?' is not a number") as err:
        cfa(bad, model=HS_MODEL)
    # data built in memory: the index label, not a spreadsheet row
    assert err.value.index == 3 and err.value.row is None and err.value.column == "x1"


def test_negative_df_is_refused(hs):
    with pytest.raises(InputError, match="df < 0"):
        cfa(hs, model="F =~ x1 + x2 + x3\nx1 ~~ x2")


def test_non_convergence_reported_by_engine(hs):
    spec = parse_model(HS_MODEL)
    stats_ = [_sem.group_stats(hs[spec.observed].to_numpy(float))]
    with pytest.raises(DegenerateDataError, match="after 2 iterations"):
        _sem.fit_model(spec, stats_, meanstructure=False, max_iter=2)


# ---------------------------------------------------------------------------------------------
# model syntax
# ---------------------------------------------------------------------------------------------


def test_parse_model_features():
    spec = parse_model("""
        # a comment line
        F1 =~ x1 + x2 +
              x3            ! continued formula
        F2 =~ x4 + x5 + x6; F1 ~~ F2
        x1 ~~ x4 + x1       # residual covariance; a variance (free anyway)
        F1 =~ x7            # adds to F1
    """)
    assert spec.factors == ["F1", "F2"]
    assert spec.indicators == {"F1": ["x1", "x2", "x3", "x7"], "F2": ["x4", "x5", "x6"]}
    assert spec.observed == ["x1", "x2", "x3", "x4", "x5", "x6", "x7"]
    assert spec.residual_covariances == [("x1", "x4")]
    assert parse_model(spec.to_syntax()).indicators == spec.indicators


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("F1 =~ x1 + x2 + x3\nF2 ~ x4", r"model line 2: operator '~' is not supported"),
        ("F1 =~ x1 + x2 + x3\n\n# c\nF2 =~ x4 + + x5", r"model line 4: empty term"),
        ("F1 =~ start(0.5)*x1 + x2 + x3", r"model line 1: modifier .start\(0.5\). in"),
        ("F1 =~ x1 + x2 + x3\nhello", r"model line 2: cannot read 'hello'"),
        ("F1 =~ x1 + x2 + x3\nx1 ~~ F1", r"model line 2: 'x1 ~~ F1' mixes a factor"),
        ("F1 =~ x1 + x2 + x3\nx1 ~~ z9", r"model line 2: 'z9' .* is neither a factor"),
        ("F1 =~ x1 + x2 + x3\nF1 := a*b", r"model line 2: operator ':='"),
        ("1F =~ x1 + x2 + x3", r"model line 1: '1F' is not a valid factor name"),
        ("F1 =~ x1 + x1 + x2", r"model line 1: indicator 'x1' is listed twice"),
        ("F1 =~ x1\nF2 =~ x2 + x3", r"factor 'F1' has 1 indicator"),
        ("F1 =~ x1 + x2", r"single factor with 2 indicators is not identified"),
        ("# nothing here", r"defines no factor"),
        ("F1 =~ x1 + x2 + F2\nF2 =~ x3 + x4 + x5", r"higher-order"),
    ],
)
def test_parse_errors_name_the_line(text, pattern):
    with pytest.raises(InputError, match=pattern):
        parse_model(text, source="model.lav")


def test_parse_error_names_the_file():
    with pytest.raises(InputError) as err:
        parse_model("F =~ a + b + c\nG <~ d", source="my_model.txt")
    assert err.value.file == "my_model.txt"
    assert str(err.value).startswith("my_model.txt: model line 2")


def test_instrument_without_subscales_is_one_factor():
    """An instrument whose only scale is the total (CARE) is fitted as one factor."""
    inst = load_instrument("care")
    rng = np.random.default_rng(7)
    f = rng.standard_normal(400)
    data = pd.DataFrame({i: np.clip(np.round(3 + f + rng.standard_normal(400)),
                                     inst.response_min, inst.response_max)
                         for i in inst.item_ids})
    res = cfa(data, inst)
    assert res.model.factors == ["total"] and res.model.indicators["total"] == inst.item_ids
    assert res.fit["df"] == 10 * 11 // 2 - 20
    assert (res.loadings["std"] > 0.4).all()


def test_brent_root_finds_known_roots():
    from empathy_metrics._sem.fit import _root

    assert _root(math.cos, 0.0, 2.0, xtol=1e-14) == pytest.approx(math.pi / 2, abs=1e-13)
    cubic = _root(lambda x: x**3 - 2 * x - 5, 2.0, 3.0, xtol=1e-14)
    assert cubic == pytest.approx(2.0945514815423265, abs=1e-13)
    assert _root(lambda x: x - 1.0, 1.0, 3.0, xtol=1e-12) == 1.0
    with pytest.raises(ValueError):
        _root(math.exp, 0.0, 1.0, xtol=1e-12)


def test_cfa_and_invariance_do_not_import_scipy_optimize():
    # the report fits the invariance models in a forked child: importing scipy.optimize
    # there (~0.3 s of CPU) only for the RMSEA interval's root search is avoided
    import subprocess
    import sys

    code = ("import sys, empathy_metrics.cfa, empathy_metrics._invariance, "
            "empathy_metrics._longitudinal; print('scipy.optimize' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
