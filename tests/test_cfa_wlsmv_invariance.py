"""Ordinal measurement invariance (issue 13, item 6): invariance(..., estimator="wlsmv")
against semTools::measEq.syntax(ID.cat = "Wu.Estabrook.2016") fits by lavaan 0.6-14 WLSMV and
lavaan's lavTestLRT (scaled-shifted, method "satorra.2000") on psych's bfi A/C by gender
(tests/reference/wlsmv_invariance.json, written by wlsmv_invariance.R)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cfa import invariance
from empathy_metrics.cli import cli
from empathy_metrics.errors import DataError, InputError

from .test_cfa import REF_DIR, assert_parameters_match
from .test_cfa_wlsmv import ITERATIVE_TOL, assert_wlsmv_fit_matches

REF = json.loads((REF_DIR / "wlsmv_invariance.json").read_text())
STEPS = ["configural", "thresholds", "metric", "scalar"]


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(REF_DIR / "data" / "bfi.csv")


@pytest.fixture(scope="module")
def result(bfi):
    return invariance(bfi, None, "gender", model=REF["model"], estimator="wlsmv")


def test_four_wu_estabrook_models_match_lavaan(result):
    """Every step: npar, every WLSMV fit measure, every parameter (thresholds, loadings,
    intercepts and scaling factors freed in group 2, latent means and variances)."""
    assert list(result.models) == STEPS
    assert result.groups == [1, 2]
    assert result.group_sizes == {1: REF["group_sizes"][0], 2: REF["group_sizes"][1]}
    for step in STEPS:
        ref = REF["fits"][step]
        res = result.models[step]
        assert res.npar == ref["fit"]["npar"], step
        assert_wlsmv_fit_matches(res.fit, ref["fit"])
        assert_parameters_match(res.parameters, ref["params"])
        assert res.fit["chisq_scaled"] == pytest.approx(ref["fit"]["chisq_scaled"], abs=1e-4)


def test_difference_tests_match_lavtestlrt(result):
    """Satorra (2000) scaled-shifted differences = lavTestLRT's default for WLSMV fits."""
    comp = result.comparisons
    assert list(comp["comparison"]) == ["thresholds vs configural", "metric vs thresholds",
                                        "scalar vs metric"]
    for (_, row), ref in zip(comp.iterrows(), REF["comparisons"], strict=True):
        assert "satorra.2000" in ref["method"]
        assert row["df_diff"] == ref["df_diff"]
        assert row["chisq_diff"] == pytest.approx(ref["chisq_diff"], abs=1e-4)
        assert row["pvalue"] == pytest.approx(ref["pvalue"], abs=ITERATIVE_TOL)
    # ΔCFI / ΔRMSEA from the scaled indices of the two models
    fits = {k: REF["fits"][k]["fit"] for k in STEPS}
    want = [fits[b]["cfi_scaled"] - fits[a]["cfi_scaled"]
            for a, b in zip(STEPS[:-1], STEPS[1:], strict=True)]
    np.testing.assert_allclose(comp["delta_cfi"], want, atol=ITERATIVE_TOL)


def test_pairwise_sequence_matches_lavaan(bfi):
    """missing = "pairwise" (all 2800 respondents): the four fits and the three difference
    tests equal lavaan's (measEq.syntax(..., missing = "pairwise"))."""
    ref = REF["pairwise"]
    res = invariance(bfi, None, "gender", model=REF["model"], estimator="wlsmv",
                     missing="pairwise", partial=False)
    assert res.missing == "pairwise" and sum(res.group_sizes.values()) == 2800
    for step in STEPS:
        assert_wlsmv_fit_matches(res.models[step].fit, ref["fits"][step])
    for (_, row), want in zip(res.comparisons.iterrows(), ref["comparisons"], strict=True):
        assert row["df_diff"] == want["df_diff"]
        assert row["chisq_diff"] == pytest.approx(want["chisq_diff"], abs=1e-4)
        assert row["pvalue"] == pytest.approx(want["pvalue"], abs=ITERATIVE_TOL)


def test_verdict_json_and_frame(result):
    assert result.sound  # every ΔCFI within .01 (lavaan: -.006, +.005, -.001)
    assert result.verdict.startswith("Threshold invariance holds across 'gender'")
    assert "Scalar invariance holds" in result.verdict and "Wu & Estabrook" in result.verdict
    out = result.to_dict()
    assert [k for k in out if k in STEPS] == STEPS
    assert out["estimator"] == "wlsmv" and out["design"] == "multigroup"
    assert out["thresholds"]["df"] == REF["fits"]["thresholds"]["fit"]["df"]
    frame = result.to_frame()
    assert list(frame.index) == STEPS and "cfi_scaled" in frame and "aic" not in frame


def test_failing_threshold_step_is_named(bfi):
    """Move the cut points in one group only (women: 70 % of the 5s answer 6 and 70 % of the
    3s answer 2 on A2, C1, C2; every category stays used): a change no intercept or scale can
    absorb, so the thresholds step fails and the verdict says scores are not comparable."""
    shifted = bfi.copy()
    rng = np.random.default_rng(6)
    women = (shifted["gender"] == 2).to_numpy()
    for item in ("C1", "C2", "A2"):
        x = shifted[item].to_numpy()
        shifted.loc[women & (x == 5) & (rng.random(len(x)) < 0.7), item] = 6
        shifted.loc[women & (x == 3) & (rng.random(len(x)) < 0.7), item] = 2
    res = invariance(shifted, None, "gender", model=REF["model"], estimator="wlsmv")
    first = res.comparisons.iloc[0]
    assert not first["holds"] and first["delta_cfi"] < -0.01 and first["pvalue"] < 1e-6
    assert not res.sound
    assert res.verdict.startswith("Threshold invariance does not hold")
    assert "not run for WLSMV" in res.verdict  # the partial search is ML-only


def test_ordinal_invariance_errors(bfi):
    # a category nobody in one group chose: advice to collapse categories
    empty = bfi.copy()
    empty.loc[(empty["gender"] == 1) & (empty["A1"] == 6), "A1"] = 5
    with pytest.raises(DataError, match="collapse"):
        invariance(empty, None, "gender", model=REF["model"], estimator="wlsmv")
    # binary items: the thresholds step is not identified this way
    binary = bfi.assign(**{f"A{i}": (bfi[f"A{i}"] > 3).astype(float).where(bfi[f"A{i}"].notna())
                           for i in range(1, 6)})
    with pytest.raises(InputError, match="only two categories"):
        invariance(binary, None, "gender", model=REF["model"], estimator="wlsmv")
    # the same students over time: ML only
    panel = bfi.head(400).copy()
    panel["id"] = np.arange(400) % 200
    panel["wave"] = np.arange(400) // 200
    with pytest.raises(InputError, match="not WLSMV"):
        invariance(panel, None, "wave", model=REF["model"], estimator="wlsmv", id="id")


def test_cli_invariance_wlsmv(tmp_path):
    model = tmp_path / "ac.lav"
    model.write_text(REF["model"])
    data = REF_DIR / "data" / "bfi.csv"
    res = CliRunner().invoke(cli, ["invariance", str(data), "--model", str(model), "--group",
                                   "gender", "--estimator", "wlsmv", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["estimator"] == "wlsmv" and out["groups"] == [1, 2]
    for step in STEPS:
        assert out[step]["chisq_scaled"] == pytest.approx(
            REF["fits"][step]["fit"]["chisq_scaled"], abs=ITERATIVE_TOL)
    assert [c["df_diff"] for c in out["comparisons"]] == [30, 8, 8]
    res = CliRunner().invoke(cli, ["invariance", str(data), "--model", str(model), "--group",
                                   "gender", "--estimator", "WLSMV"])
    assert res.exit_code == 0, res.output
    assert "thresholds vs configural" in res.output and "Threshold invariance" in res.output
