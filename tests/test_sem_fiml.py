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



@pytest.mark.parametrize("model,equal", [
    (HS, ("loadings", "intercepts")),  # equal parameters, latent means free in group 2
    ("visual =~ NA*x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"
     "visual ~~ 1*visual\nx1 ~~ x4\nx2 ~~ x5", ()),  # std.lv-like, residual covariances
])
def test_structured_hessian_equals_the_sparse_jacobian_contraction(hs_missing, model, equal):
    # the rank-2 form of dSigma/dtheta (Lambda, Phi, Theta entries) gives the same observed
    # information as the contraction of the full sparse Jacobian (the generic path)
    _, groups = hs_missing
    structure = Structure(parse_model(model), 2, meanstructure=True, equal=equal)
    const = _constant(groups, True)
    rng = np.random.default_rng(11)
    theta = _start(structure, groups, const) + 0.05 * rng.standard_normal(structure.q)
    structured = observed_hessian(structure, groups, theta)
    structure.kinds = (*structure.kinds, "generic")  # not the plain factor model: old path
    generic = observed_hessian(structure, groups, theta)
    np.testing.assert_allclose(structured, generic, rtol=0,
                               atol=1e-12 * np.abs(generic).max())


@pytest.mark.parametrize("derivatives", [1, 2])
@pytest.mark.parametrize("complete", [True, False])
def test_rank2_gradient_and_information_equal_the_dense_jacobian(hs_missing, derivatives,
                                                                 complete):
    # F's gradient and expected information from the rank-2 form of dSigma/dtheta equal the
    # contractions of the dense Jacobian (complete data; FIML gradient and FIML expected
    # information block by block), with equal parameters across groups
    values, groups = hs_missing
    if complete:
        values = values[~np.isnan(values).any(axis=1)]
        groups = [group_stats(values[:80]), group_stats(values[80:])]
    structure = Structure(parse_model(HS + "\nx1 ~~ x4"), 2, meanstructure=True,
                          equal=("loadings", "intercepts"))
    const = _constant(groups, True)
    theta = _start(structure, groups, const)
    theta = theta + 0.05 * np.random.default_rng(5).standard_normal(structure.q)
    f, grad, info = discrepancy(structure, groups, theta, const, derivatives=derivatives)
    structure.kinds = (*structure.kinds, "generic")  # not the plain factor model: old path
    f0, grad0, info0 = discrepancy(structure, groups, theta, const, derivatives=derivatives)
    assert f == f0
    np.testing.assert_allclose(grad, grad0, rtol=0, atol=1e-13 * np.abs(grad0).max())
    if derivatives == 2:
        np.testing.assert_allclose(info, info0, rtol=0, atol=1e-13 * np.abs(info0).max())


@pytest.mark.parametrize("expected", [False, True])
def test_saturated_hessian_block_equals_the_duplication_contraction(hs_missing, expected):
    # D' H_ss D of the saturated model from the p* x p* product equals the contraction of
    # the p^4 block with the duplication matrix (the generic path)
    from empathy_metrics._sem.hessian import _contract_ss, saturated_ss

    values, _ = hs_missing
    blocks = _missing.pattern_blocks(values)
    pat = _missing.pack(blocks, values.shape[1])
    mean, cov, _ = _missing.em_moments(blocks, values.shape[1], len(values), pat=pat)
    rng = np.random.default_rng(3)
    a = rng.normal(size=cov.shape) * 0.05
    terms = _missing.pattern_terms(pat, mean + 0.1, cov + a @ a.T)  # off the optimum
    dup = _missing._duplication(values.shape[1])
    generic = _contract_ss(pat, terms, dup.T.tocsr(), expected=expected)
    new = saturated_ss(pat, terms, expected=expected)
    np.testing.assert_allclose(new, (generic + generic.T) / 2.0, rtol=0,
                               atol=1e-13 * np.abs(generic).max())


@pytest.mark.parametrize("p", [12, 70])
def test_pattern_blocks_in_the_order_of_unique_rows(p):
    # patterns as integer codes (up to 63 variables) keep np.unique(axis=0)'s order, which
    # fixes the order of the blocks (ties in size) and so of every sum over them
    rng = np.random.default_rng(p)
    values = rng.normal(size=(400, p))
    values[rng.random(values.shape) < 0.05] = np.nan
    values[rng.integers(0, 400, 60)[:, None], rng.integers(0, p, 8)] = np.nan
    values = values[~np.isnan(values).all(axis=1)]
    observed = ~np.isnan(values)
    keys, counts = np.unique(observed, axis=0, return_counts=True)
    order = sorted(range(len(keys)), key=lambda k: -counts[k])  # stable, as pattern_blocks
    blocks = _missing.pattern_blocks(values)
    assert len(blocks) == len(keys) > 20
    for b, k in zip(blocks, order, strict=True):
        obs = np.arange(p) if b.obs is None else b.obs
        np.testing.assert_array_equal(obs, np.flatnonzero(keys[k]))
        assert b.n == counts[k]


def test_group_stats_pickle_without_the_packed_patterns(hs_missing):
    # the packed patterns (and the last pattern terms kept on them) are left out of the
    # pickle and rebuilt from the blocks: the same arrays, a much smaller payload
    import pickle

    _, groups = hs_missing
    st = groups[0]
    _missing.pattern_terms(st.patterns, st.mean, st.cov)  # fills the cache on the patterns
    payload = pickle.dumps(st)
    back = pickle.loads(payload)
    assert "patterns" not in back.__dict__
    assert len(payload) < len(pickle.dumps(st.patterns))
    for name in ("n", "mask", "pair", "fill", "mean", "cov", "root", "parent", "drop",
                 "full", "low", "factor"):
        np.testing.assert_array_equal(getattr(back.patterns, name), getattr(st.patterns, name))
    assert back.h1_loglik == st.h1_loglik

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


@pytest.mark.parametrize("below", [1e-3, 1e-4])
def test_early_newton_with_chord_steps_reaches_the_same_saturated_optimum(below, monkeypatch):
    # switching from EM to Newton far from the optimum makes chord steps (the Hessian
    # reused) contract slowly; a small change of the log-likelihood must then not stop them
    # (the 40-variable panel of test_longitudinal_wide: 783 students, 76 patterns)
    from empathy_metrics import _longitudinal

    panel = pd.read_csv(REF_DIR / "data" / "demo_pt_panel.csv")
    spec = parse_model("PT =~ " + " + ".join(c for c in panel.columns if c.startswith("JSE")))
    wide, _, _, _ = _longitudinal.wide_frame(panel, panel[spec.observed], spec, "year",
                                             "student_id", None)
    values = wide.to_numpy(float)
    values = values[~np.isnan(values).all(axis=1)]
    blocks = _missing.pattern_blocks(values)
    p, n = values.shape[1], values.shape[0]
    mean, cov, ll = _missing.em_moments(blocks, p, n)
    monkeypatch.setattr(_missing, "NEWTON_BELOW", below)
    mean_b, cov_b, ll_b = _missing.em_moments(blocks, p, n)
    assert ll_b == pytest.approx(ll, rel=1e-12)
    np.testing.assert_allclose(cov_b, cov, atol=1e-6)
    np.testing.assert_allclose(mean_b, mean, atol=1e-6)


def test_nested_fits_are_the_separate_fits_with_fewer_hessians(monkeypatch):
    import dataclasses

    from empathy_metrics import _longitudinal
    from empathy_metrics._sem import hessian as _hessian
    from empathy_metrics._sem.estimate import fit_model
    from empathy_metrics._sem.fiml import embedding, fit_nested

    long = pd.read_csv(REF_DIR / "data" / "longitudinal_sim.csv")
    spec = parse_model("E =~ x1 + x2 + x3\nC =~ x4 + x5 + x6")
    wide, times, _, _ = _longitudinal.wide_frame(long, long[spec.observed], spec, "year",
                                                 "student", None)
    specs = [_longitudinal.longitudinal_spec(spec, times, level)
             for level in ("configural", "metric", "scalar")]
    values = wide[specs[0].observed].to_numpy(float)
    groups = [group_stats(values[~np.isnan(values).all(axis=1)], missing="fiml")]
    union = dataclasses.replace(specs[0], free=set(specs[2].free))
    calls = {"n": 0}
    real = _hessian.observed_hessian

    def counted(*args):
        calls["n"] += 1
        return real(*args)

    monkeypatch.setattr(_hessian, "observed_hessian", counted)
    nested = fit_nested(specs, groups, union)
    n_nested, calls["n"] = calls["n"], 0
    separate = [fit_model(sp, groups, meanstructure=True) for sp in specs]
    assert n_nested < calls["n"]
    for est, ref in zip(nested, separate, strict=True):
        # the same minimum of F (gradient below 1e-10 in both), the same observed information
        assert est.fmin == pytest.approx(ref.fmin, abs=1e-12)
        np.testing.assert_allclose(est.theta, ref.theta, atol=1e-6)
        np.testing.assert_allclose(est.se, ref.se, rtol=1e-5)
        assert est.information == "observed"
    # the embedding's chain rule is exact: A' H_U A is the metric model's own Hessian
    u = Structure(union, 1, meanstructure=True)
    s = Structure(specs[1], 1, meanstructure=True)
    a = embedding(u, s)
    own = real(s, groups, nested[1].theta)
    np.testing.assert_allclose(a.T @ real(u, groups, a @ nested[1].theta) @ a, own,
                               atol=1e-12 * np.abs(own).max())


def _direct_terms(pat, sigma):
    """Each pattern's Sigma_oo^-1 and log|Sigma_oo| one by one (the definition)."""
    out = []
    for b in range(len(pat.n)):
        o = np.flatnonzero(pat.mask[b])
        s = sigma[np.ix_(o, o)]
        out.append((o, np.linalg.inv(s), np.linalg.slogdet(s)[1]))
    return out


def _direct_c(pat, mu, sigma, b):
    """K (S + dd') K of pattern ``b`` (the definition)."""
    o = np.flatnonzero(pat.mask[b])
    k = np.linalg.inv(sigma[np.ix_(o, o)])
    d = pat.mean[b][o] - mu[o]
    return k @ (pat.cov[b][np.ix_(o, o)] + np.outer(d, d)) @ k


def test_pattern_terms_from_root_inverses_and_spread_factors_equal_direct_ones():
    # longitudinal-like patterns: occasion sets (roots) and the same sets less 1-3 items
    rng = np.random.default_rng(7)
    p = 12
    sets = [np.arange(12), np.arange(8), np.arange(4, 12), np.arange(4)]
    rows = []
    for o in sets:
        rows.append(o)
        for k in (1, 2, 3):
            rows.append(np.delete(o, rng.choice(len(o), k, replace=False)))
    rows.append(np.array([0, 5, 9]))  # no root within MAX_DROP: a root of its own
    blocks = []
    for j, o in enumerate(rows):  # single rows (S = 0), low-rank and full-rank S
        n = (1, 3, 30)[j % 3]
        y = rng.normal(size=(n, len(o)))
        m = y.mean(axis=0)
        blocks.append(_missing.Block(None if len(o) == p else o, n, m,
                                     (y - m).T @ (y - m) / n, y))
    pat = _missing.pack(blocks, p)
    assert 1 < len(pat.root) < len(rows) and pat.drop.shape[1] == _missing.MAX_DROP
    assert len(pat.full) and len(pat.low) and len(pat.full) + len(pat.low) < len(rows)
    a = rng.normal(size=(p, p))
    sigma = a @ a.T / p + 0.5 * np.eye(p)
    mu = rng.normal(size=p)
    terms = _missing.pattern_terms(pat, mu, sigma)
    for b, (o, inv, logdet) in enumerate(_direct_terms(pat, sigma)):
        np.testing.assert_allclose(terms.inv[b][np.ix_(o, o)], inv, rtol=0, atol=1e-12)
        assert terms.logdet[b] == pytest.approx(logdet, abs=1e-12)
        c = _direct_c(pat, mu, sigma, b)
        np.testing.assert_allclose(terms.c[b][np.ix_(o, o)], c, rtol=0,
                                   atol=1e-12 * np.abs(c).max())
        assert not terms.inv[b][~pat.mask[b]].any() and not terms.inv[b][:, ~pat.mask[b]].any()
    w = rng.random(len(pat.n))
    np.testing.assert_allclose(terms.c_sum(w), np.einsum("b,bij->ij", w, terms.c), rtol=1e-12)
    # not positive definite on some root's variables: no terms
    bad = sigma.copy()
    bad[0, 1] = bad[1, 0] = 2.0 * np.sqrt(bad[0, 0] * bad[1, 1])
    assert _missing.pattern_terms(pat, np.zeros(p), bad) is None
