"""The mixed-model engine pools respondents with identical design blocks (``_pls.block_stats``):
the pooled criterion, gradient and fit equal the respondent-by-respondent ones.

Tolerances (relative): criterion and pieces of the PLS solution ``RTOL_SAME`` = 1e-10 (the two
paths sum the same terms in a different order; observed ~1e-14); gradient 1e-7 relative with
1e-7 absolute (differences of nearly equal sums); fits (estimates, SEs, σ, θ, df)
``RTOL_FIT`` = 1e-6, the balanced-data bar of tests/test_mixed.py against lme4.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from empathy_metrics.mixed import _engine, fit_lmm
from empathy_metrics.mixed._pls import block_stats, evaluate, gradient

RTOL_SAME = 1e-10
RTOL_FIT = 1e-6


def _panel(seed: int, m: int, covariate: bool, categorical: bool):
    """Students seen in a random subset of 4 years (at least 1; the first 4 in all), a
    subject-level binary covariate (both levels present), a random intercept and slope."""
    rng = np.random.default_rng(seed)
    seen = rng.random((m, 4)) < 0.7
    seen[np.arange(m), rng.integers(0, 4, m)] = True
    seen[:4] = True  # every year observed: the design has full rank
    g, t = np.nonzero(seen)
    b0 = rng.normal(0, 4, m)
    b1 = rng.normal(0, 1, m)
    y = 100 + b0[g] + (b1[g] - 0.8) * t + rng.normal(0, 3, g.size)
    cols = [np.ones(g.size)]
    cols += [(t == k).astype(float) for k in (1, 2, 3)] if categorical else [t.astype(float)]
    if covariate:
        cols.append(rng.permutation(np.arange(m) % 2)[g].astype(float))  # both levels
    return y, np.column_stack(cols), np.column_stack([np.ones(g.size), t.astype(float)]), g


@settings(max_examples=25, deadline=None)
@given(seed=hst.integers(0, 2**31 - 1), m=hst.integers(8, 60), covariate=hst.booleans(),
       categorical=hst.booleans(), slope=hst.booleans(), reml=hst.booleans(),
       theta=hst.tuples(hst.floats(0.01, 3), hst.floats(-2, 2), hst.floats(0, 3)))
def test_pooled_patterns_equal_per_respondent(seed, m, covariate, categorical, slope, reml,
                                              theta):
    y, X, Z, g = _panel(seed, m, covariate, categorical)
    Z = Z if slope else Z[:, :1]
    th = np.array(theta if slope else theta[:1])
    pooled = block_stats(y, X, Z, g, m)
    each = block_stats(y, X, Z, g, m, compress=False)
    assert each.n_patterns == m and pooled.n_patterns <= m
    assert pooled.w.sum() == m
    a, b = evaluate(th, pooled), evaluate(th, each)
    for name in ("ldL2", "ldRX2", "pwrss"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=RTOL_SAME), name
    assert a.criterion(pooled.n, reml) == pytest.approx(b.criterion(each.n, reml),
                                                        rel=RTOL_SAME)
    assert a.beta == pytest.approx(b.beta, rel=RTOL_SAME, abs=1e-9)
    assert a.unscaled_vcov() == pytest.approx(b.unscaled_vcov(), rel=RTOL_SAME, abs=1e-14)
    assert gradient(a, pooled, reml) == pytest.approx(gradient(b, each, reml), rel=1e-7,
                                                      abs=1e-7)


def test_repeated_measures_collapse_to_few_patterns():
    # 4 years: at most 15 patterns of years seen, times 2 covariate values
    y, X, Z, g = _panel(1, 5000, True, True)
    st = block_stats(y, X, Z, g, 5000)
    assert st.n_patterns <= 30 and st.w.sum() == 5000


@pytest.mark.parametrize("slope", [False, True])
def test_fit_is_the_same_with_and_without_pooling(monkeypatch, slope):
    y, X, Z, g = _panel(7, 400, True, False)
    Z = Z if slope else None
    pooled = fit_lmm(y, X, g, 400, Z)

    def unpooled(*args, **kwargs):
        return block_stats(*args, **kwargs, compress=False)

    monkeypatch.setattr(_engine, "block_stats", unpooled)
    each = fit_lmm(y, X, g, 400, Z)
    assert pooled.beta == pytest.approx(each.beta, rel=RTOL_FIT)
    assert np.sqrt(np.diag(pooled.vcov)) == pytest.approx(np.sqrt(np.diag(each.vcov)),
                                                          rel=RTOL_FIT)
    assert pooled.sigma == pytest.approx(each.sigma, rel=RTOL_FIT)
    assert pooled.theta == pytest.approx(each.theta, rel=RTOL_FIT, abs=1e-6)
    assert pooled.df == pytest.approx(each.df, rel=RTOL_FIT)
    assert pooled.criterion == pytest.approx(each.criterion, rel=1e-12)


def test_rows_that_differ_are_never_pooled():
    # two students whose blocks share the pooling key's linear combination but differ
    from empathy_metrics.mixed._pls import _unique_rows

    w = 1.0 + np.sqrt(np.arange(2, 4, dtype=float))
    block = np.array([[w[1], 0.0], [0.0, w[0]], [w[1], 0.0]])
    assert block[0] @ w == block[1] @ w
    rows, inverse = _unique_rows(block)
    assert len(rows) == 2 and inverse[0] == inverse[2] != inverse[1]
    assert np.array_equal(rows[inverse], block)
