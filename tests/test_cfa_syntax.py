"""lavaan model syntax (std.lv, fixed values, free markers, labels, residual covariances)
against lavaan 0.6-14 (tests/reference/cfa_syntax.json, cfa_syntax.R)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from empathy_metrics.cfa import cfa, parse_model
from empathy_metrics.errors import DegenerateDataError, InputError

from .test_cfa import REF_DIR, assert_fit_matches, assert_parameters_match

REF = json.loads((REF_DIR / "cfa_syntax.json").read_text())


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(REF_DIR / "data" / "HolzingerSwineford1939.csv")


@pytest.fixture(scope="module")
def pol_dem():
    return pd.read_csv(REF_DIR / "data" / "PoliticalDemocracy.csv")


@pytest.mark.parametrize(("case", "std_lv"), [("hs_std_lv", True), ("hs_fixed", False),
                                               ("hs_labels", False),
                                               ("hs_fixed_resid", False)])
def test_holzinger_swineford_syntax_matches_lavaan(hs, case, std_lv):
    ref = REF[case]
    res = cfa(hs, model=ref["model"], std_lv=std_lv)
    assert_fit_matches(res.fit, ref["fit"])
    assert res.npar == ref["fit"]["npar"]
    assert_parameters_match(res.parameters, ref["params"])


@pytest.mark.parametrize(("case", "std_lv"), [("pd", False), ("pd_std_lv", True)])
def test_political_democracy_labels_and_residual_covariances(pol_dem, case, std_lv):
    """lavaan's tutorial measurement model: loadings equal over time by labels, residual
    covariances between repeated indicators."""
    ref = REF[case]
    res = cfa(pol_dem, model=ref["model"], std_lv=std_lv)
    assert_fit_matches(res.fit, ref["fit"])
    assert res.npar == ref["fit"]["npar"]
    assert_parameters_match(res.parameters, ref["params"])


def test_label_holds_across_groups(hs):
    """A single label in a multi-group model is one parameter in every group (lavaan)."""
    ref = REF["hs_group_label"]
    res = cfa(hs, model=ref["model"], group="school")
    assert_fit_matches(res.fit, ref["fit"])
    assert res.npar == ref["fit"]["npar"]
    assert_parameters_match(res.parameters, ref["params"])


def test_std_lv_is_a_reparametrisation(hs):
    """Same fit; the std.lv loadings are the marker loadings times the factor SD."""
    marker = cfa(hs, model=REF["hs_std_lv"]["model"])
    unit = cfa(hs, model=REF["hs_std_lv"]["model"], std_lv=True)
    assert unit.fit["chisq"] == pytest.approx(marker.fit["chisq"], abs=1e-6)
    sd = marker.factor_covariances.to_numpy().diagonal() ** 0.5
    for f, s in zip(marker.model.factors, sd, strict=True):
        m = marker.loadings[marker.loadings["factor"] == f]["estimate"].to_numpy()
        u = unit.loadings[unit.loadings["factor"] == f]["estimate"].to_numpy()
        assert u == pytest.approx(m * s, abs=1e-5)
    assert (unit.factor_covariances.to_numpy().diagonal() == 1).all()


def test_modifiers_round_trip_through_to_syntax():
    text = ("F1 =~ NA*x1 + a*x2 + 0.5*x3\nF2 =~ x4 + x5 + x6\nF1 ~~ 1*F1\nF1 ~~ 0*F2\n"
            "x1 ~~ b*x4\nx2 ~~ 2*x2")
    spec = parse_model(text)
    assert spec.free == {("F1", "=~", "x1")}
    assert spec.labels == {("F1", "=~", "x2"): "a", ("x1", "~~", "x4"): "b"}
    assert spec.fixed == {("F1", "=~", "x3"): 0.5, ("F1", "~~", "F1"): 1.0,
                          ("F1", "~~", "F2"): 0.0, ("x2", "~~", "x2"): 2.0}
    again = parse_model(spec.to_syntax())
    assert (again.fixed, again.labels, again.free) == (spec.fixed, spec.labels, spec.free)
    assert again.residual_covariances == spec.residual_covariances


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("F =~ x1 + x2 + x3\nx1 ~~ x2\nx2 ~~ x1", r"model line 3: 'x1 ~~ x2' is given twice"),
        ("F =~ x1 + 1*a*x2 + x3", r"model line 1: cannot read the modifier"),
        ("F =~ x1 + c(a, b)*x2 + x3", r"model line 1: .*not a variable name|modifier"),
        ("F =~ x1 + x2 + x3\nx1 ~~ 1*x1 + NA*x1", r"model line 2: .* more than one modifier"),
        ("F =~ x1 + x2 + x3\nF ~~ G", r"model line 2: 'G' in 'F ~~ G' is neither a factor nor"),
    ],
)
def test_syntax_errors_name_the_line(text, pattern):
    with pytest.raises(InputError, match=pattern):
        parse_model(text)


def test_label_on_fixed_marker_is_refused(hs):
    with pytest.raises(InputError, match="label 'a' is on 'visual =~ x1'"):
        cfa(hs, model="visual =~ a*x1 + a*x2 + x3")


def test_unidentified_free_marker_is_an_error(hs):
    """NA*x1 without fixing the factor variance leaves the factor's scale free."""
    with pytest.raises(DegenerateDataError, match="not identified"):
        cfa(hs, model="visual =~ NA*x1 + x2 + x3\ntextual =~ x4 + x5 + x6")


def test_group_partial_needs_known_names(hs):
    with pytest.raises(InputError, match="cannot read the freed parameter 'visual=~x99'"):
        cfa(hs, model=REF["hs_std_lv"]["model"], group="school", group_equal=["loadings"],
            group_partial=["visual=~x99"])
