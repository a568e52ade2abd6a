"""The FIML engine's fast path (empathy_metrics._sem.fiml, hessian, missing): the analytic
observed information equals finite differences of the analytic gradient, the EM + Newton
saturated model is the EM optimum, and the complete-data start + Newton reaches the same
estimate as plain Fisher scoring. Agreement with lavaan itself is tested in
test_cfa_missing.py and test_cfa_longitudinal.py (committed lavaan 0.6-14 output)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from empathy_metrics._sem import group_stats, parse_model
from empathy_metrics._sem import missing as _missing
from empathy_metrics._sem.estimate import _constant, _start, discrepancy, hessian
from empathy_metrics._sem.hessian import observed_hessian
from empathy_metrics._sem.structure import Structure

from .test_cfa import REF_DIR

HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
ITEMS = [f"x{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def hs_missing():
    values = pd.read_csv(REF_DIR / "data" / "hs_missing.csv")[ITEMS].to_numpy(float)
    values = values[~np.isnan(values).all(axis=1)]
    groups = [group_stats(values[:150], missing="fiml"),
              group_stats(values[150:], missing="fiml")]
    assert all(st.missing for st in groups) and len(groups[0].blocks) > 5
    return values, groups


@pytest.mark.parametrize("equal", [(), ("loadings", "intercepts")])
def test_analytic_observed_information_equals_finite_differences(hs_missing, equal):
    _, groups = hs_missing
    structure = Structure(parse_model(HS), 2, meanstructure=True, equal=equal)
    const = _constant(groups, True)
    theta = _start(structure, groups, const)
    theta = theta + 0.05 * np.random.default_rng(7).standard_normal(len(theta))
    assert np.isfinite(discrepancy(structure, groups, theta, const, derivatives=0)[0])
    analytic = observed_hessian(structure, groups, theta)
    numeric = hessian(structure, groups, theta, const, central=True)
    # central differences with h = 1e-5: truncation and rounding error ~1e-7 of the scale
    np.testing.assert_allclose(analytic, numeric, atol=1e-6 * np.abs(numeric).max(), rtol=0)


def test_em_with_newton_finish_is_the_em_optimum(hs_missing, monkeypatch):
    values, _ = hs_missing
    blocks = _missing.pattern_blocks(values)
    p, n = values.shape[1], values.shape[0]
    mean, cov, ll = _missing.em_moments(blocks, p, n)
    monkeypatch.setattr(_missing, "NEWTON_BELOW", 0.0)  # (accelerated) EM only, same tolerance
    mean_em, cov_em, ll_em = _missing.em_moments(blocks, p, n)
    assert ll >= ll_em - 1e-9 * abs(ll_em)
    # EM stops on a 1e-12 relative change of the log-likelihood: moments within ~1e-5
    np.testing.assert_allclose(mean, mean_em, atol=1e-4)
    np.testing.assert_allclose(cov, cov_em, atol=1e-4)
    assert ll == pytest.approx(_missing.block_loglik(blocks, mean, cov), abs=1e-9)


def test_newton_from_the_complete_data_start_gives_the_fisher_scoring_estimate(hs_missing):
    from empathy_metrics._sem import estimate as _estimate

    _, groups = hs_missing
    spec = parse_model(HS)
    fast = _estimate.fit_model(spec, groups, meanstructure=True, equal=("loadings",))
    structure = Structure(spec, 2, meanstructure=True, equal=("loadings",))
    const = _constant(groups, True)
    # plain Fisher scoring on the expected information from the usual start values
    theta = _start(structure, groups, const)
    for _ in range(500):
        f, grad, info = discrepancy(structure, groups, theta, const, derivatives=2)
        if np.max(np.abs(grad)) < 1e-9:
            break
        theta = theta - np.linalg.solve(info, grad)
    assert np.max(np.abs(grad)) < 1e-9
    np.testing.assert_allclose(fast.theta, theta, atol=1e-6)
    assert fast.fmin == pytest.approx(f, abs=1e-10)
    assert fast.information == "observed" and fast.iterations <= 10
