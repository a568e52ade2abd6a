"""Correlation matrices against psych 2.2.9 (tests/reference/reliability.json)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from empathy_metrics.correlation import (
    bivariate_normal_cdf,
    pearson_matrix,
    polychoric_matrix,
    smooth_correlation,
)
from empathy_metrics.errors import DataError, DegenerateDataError, DegenerateDataWarning

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "reliability.json").read_text())
#: psych optimises rho with optimize() (tolerance ~1e-4) and sadmvn (abseps 1e-6).
ITERATIVE_TOL = 1e-3
CLOSED_FORM_TOL = 1e-6


@pytest.fixture(scope="module")
def agree():
    bfi = pd.read_csv(REF_DIR / "data" / "bfi.csv")
    a = bfi[["A1", "A2", "A3", "A4", "A5"]].copy()
    a["A1"] = 7 - a["A1"]
    return a


def test_polychoric_matches_psych_on_bfi_agreeableness(agree):
    rho = polychoric_matrix(agree)
    np.testing.assert_allclose(rho, REF["polychoric_agree"]["rho"], atol=ITERATIVE_TOL)


def test_polychoric_matches_psych_on_simulated_jse():
    jse = pd.read_csv(REF_DIR / "data" / "jse_sim.csv")
    rho = polychoric_matrix(jse)
    np.testing.assert_allclose(rho, REF["polychoric_jse"]["rho"], atol=ITERATIVE_TOL)


def test_bivariate_normal_cdf_matches_scipy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        h, k = rng.normal(size=2) * 1.5
        r = rng.uniform(-0.95, 0.95)
        expected = stats.multivariate_normal([0, 0], [[1, r], [r, 1]]).cdf([h, k])
        assert bivariate_normal_cdf(h, k, r) == pytest.approx(expected, abs=1e-6)


def test_pearson_listwise_and_pairwise():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 4))
    x[3, 1] = np.nan
    frame = pd.DataFrame(x)
    np.testing.assert_allclose(pearson_matrix(frame), frame.dropna().corr(), atol=CLOSED_FORM_TOL)
    np.testing.assert_allclose(
        pearson_matrix(frame, missing="pairwise"), frame.corr(), atol=CLOSED_FORM_TOL
    )


def test_constant_item_is_degenerate():
    x = np.column_stack([np.arange(10) % 3 + 1, np.ones(10)])
    with pytest.raises(DegenerateDataError):
        pearson_matrix(x)
    with pytest.raises(DegenerateDataError):
        polychoric_matrix(x)


def test_non_integer_and_too_many_categories_rejected():
    with pytest.raises(DataError):
        polychoric_matrix(np.array([[1.5, 2], [2, 3], [3, 1]]))
    with pytest.raises(DataError):
        polychoric_matrix(np.column_stack([np.arange(20), np.arange(20)[::-1]]))


def test_non_positive_definite_matrix_is_smoothed_with_warning():
    bad = np.array([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]])
    with pytest.warns(DegenerateDataWarning):
        fixed = smooth_correlation(bad)
    assert np.linalg.eigvalsh(fixed).min() > 0
    np.testing.assert_allclose(np.diag(fixed), 1.0)


def test_polychoric_thresholds_match_psych(agree):
    from empathy_metrics.correlation import polychoric_result

    res = polychoric_result(agree)
    np.testing.assert_allclose(res.tau, REF["polychoric_agree"]["tau"], atol=CLOSED_FORM_TOL)
    assert not res.smoothed
