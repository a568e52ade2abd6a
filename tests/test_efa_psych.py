"""psych's defaults and Heywood cases in EFA (tests/reference/efa_psych.R; issue 9 items 2, 4)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from empathy_metrics.efa import efa, fit_factors
from empathy_metrics.errors import DegenerateDataWarning

REF_DIR = Path(__file__).parent / "reference"
DATA = REF_DIR / "data"
REF = json.loads((REF_DIR / "efa_psych.json").read_text())
for _key in ("ability", "epi_bfi"):  # jsonlite auto_unbox writes a 1-element vector as a number
    REF[_key]["heywood"] = np.atleast_1d(REF[_key]["heywood"]).astype(int).tolist()


def _objective(r: np.ndarray, loadings: np.ndarray) -> float:
    """minres criterion of a solution: sum of squared off-diagonal residuals (as the R script)."""
    res = r - loadings @ loadings.T
    return float(np.sum(res[np.tril_indices_from(res, -1)] ** 2))
#: closed forms (Bartlett, KMO) on the same matrix
CLOSED_FORM_TOL = 1e-8
#: minres communalities vs psych
ITERATIVE_TOL = 1e-4


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(DATA / "bfi.csv")[REF["bfi"]["items"]]


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_bartlett_and_kmo_match_psych_for_both_missing_rules(bfi, missing):
    """psych's cortest.bartlett/KMO on raw data: pairwise r, n = all rows (issue 9.4)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        res = efa(bfi, list(bfi.columns), 5, n_iter=10, seed=1, missing=missing)
    ref = REF["bfi"][f"bartlett_{missing}"]
    assert res.bartlett.chi2 == pytest.approx(ref["chi2"], rel=CLOSED_FORM_TOL)
    assert res.bartlett.df == ref["df"]
    assert res.kmo == pytest.approx(REF["bfi"][f"kmo_{missing}"], rel=CLOSED_FORM_TOL)
    assert res.n == (REF["bfi"]["n"] if missing == "pairwise" else ref["n"])
    assert res.missing == missing and res.to_dict()["missing"] == missing
    assert ("psych" in res.summary()) and (missing in res.summary())


def test_bad_missing_rule_is_refused(bfi):
    from empathy_metrics.errors import DataError

    with pytest.raises(DataError, match="missing"):
        efa(bfi, list(bfi.columns), 2, missing="everything")
    with pytest.raises(DataError, match="Pearson"):
        efa(bfi, list(bfi.columns), 2, missing="pairwise", correlation="polychoric")


def test_ability_heywood_case_is_psychs_solution_and_impossible_to_miss():
    """ability, pairwise r, 5 factors: psych 2.2.9 (R 4.2) returns a Heywood solution
    (matrix.55 h2 .995, objective .0124711); so do we, and it is flagged three ways."""
    ability = pd.read_csv(DATA / "ability.csv")
    r = ability.corr().to_numpy()
    fit = fit_factors(r, 5, warn=False)
    ref = REF["ability"]
    assert _objective(r, fit.loadings) == pytest.approx(ref["objective"], rel=1e-6)
    np.testing.assert_allclose(fit.communalities, ref["h2"], atol=ITERATIVE_TOL)
    assert fit.heywood == ref["heywood"]
    with pytest.warns(DegenerateDataWarning, match="Heywood"):
        res = efa(ability, list(ability.columns), 5, n_iter=10, seed=1, missing="pairwise",
                  rotation="none")
    assert res.heywood == [ability.columns[i] for i in ref["heywood"]]
    assert res.to_dict()["heywood"] == res.heywood
    assert res.summary().splitlines()[2].startswith("HEYWOOD CASE: matrix.55")


def test_epi_bfi_four_factors_reaches_a_stationary_point_below_psychs_objective():
    """epi.bfi, 4 factors: psych stops at .0616435 (its minres gradient is not the objective's
    gradient at a bound); we continue to a stationary point, .0616126, with the same Heywood
    item (epiE) -- never a worse objective than psych's."""
    from empathy_metrics.extraction import _PSI_LOWER, _minres_exact

    epi = pd.read_csv(DATA / "epi.bfi.csv")
    r = epi.corr().to_numpy()
    fit = fit_factors(r, 4, warn=False)
    assert fit.heywood == REF["epi_bfi"]["heywood"]
    ours = _objective(r, fit.loadings)
    assert ours <= REF["epi_bfi"]["objective"]
    assert ours == pytest.approx(0.0616126, abs=1e-7)
    # stationarity: zero gradient for free uniquenesses, non-negative at the lower bound
    from empathy_metrics.extraction import _optimise_uniquenesses

    psi, _ = _optimise_uniquenesses(r, 4, "minres")
    _, grad = _minres_exact(psi, r, 4)
    free = psi > _PSI_LOWER + 1e-9
    assert np.abs(grad[free]).max() < 1e-6
    assert np.all(grad[~free] > -1e-6)


def test_tiny_perturbation_of_the_matrix_gives_the_same_solution():
    """Issue 9.2: a 3e-16 change to the ability matrix flipped the solution (Heywood .995 vs
    proper); the answer must not depend on it."""
    ability = pd.read_csv(DATA / "ability.csv")
    r = ability.corr().to_numpy()
    rng = np.random.default_rng(9)
    noise = rng.uniform(-3e-16, 3e-16, r.shape)
    r2 = r + np.triu(noise, 1) + np.triu(noise, 1).T
    a, b = fit_factors(r, 5, warn=False), fit_factors(r2, 5, warn=False)
    np.testing.assert_allclose(a.communalities, b.communalities, atol=ITERATIVE_TOL)
    assert a.heywood == b.heywood
