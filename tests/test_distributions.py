"""The scipy.special-based distribution functions and classical tests agree with scipy.stats.

The distribution functions call the ufuncs scipy.stats calls, with its argument and support
checks, so they must agree exactly (NaN where scipy gives NaN) on grids that include the edge
cases (parameters ≤ 0, inf, NaN; arguments at and beyond the support, q = 0 and 1). The
classical tests repeat scipy's formulas: relative difference ≤ 1e-12.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy import stats

from empathy_metrics import _distributions as dist
from empathy_metrics._classical import kruskal_wallis, line_fit, one_sample_t

X = np.array([-np.inf, -40.0, -3.0, -1e-300, 0.0, 1e-300, 1e-8, 0.3, 1.0, 2.5, 7.0, 30.0,
              400.0, np.inf, np.nan])
Q = np.array([-0.1, 0.0, 1e-300, 1e-12, 1e-4, 0.025, 0.3, 0.5, 0.8, 0.975, 1 - 1e-12, 1.0,
              1.1, np.nan])
DF = np.array([-1.0, 0.0, 0.3, 1.0, 2.5, 7.0, 60.0, 1e4, np.inf, np.nan])


def _grid(*axes: np.ndarray) -> list[np.ndarray]:
    return [a.ravel() for a in np.meshgrid(*axes, indexing="ij")]


def _same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert np.shape(ours) == np.shape(theirs)
    np.testing.assert_array_equal(ours, theirs)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.mark.parametrize(("ours", "theirs"), [
    (dist.chi2_sf, stats.chi2.sf), (dist.chi2_cdf, stats.chi2.cdf),
    (dist.t_sf, stats.t.sf), (dist.t_cdf, stats.t.cdf),
])
def test_one_parameter_probabilities_equal_scipy_stats(ours, theirs):
    x, df = _grid(X, DF)
    _same(ours(x, df), theirs(x, df))


def test_t_quantile_equals_scipy_stats():
    q, df = _grid(Q, DF)
    _same(dist.t_ppf(q, df), stats.t.ppf(q, df))


def test_normal_functions_equal_scipy_stats():
    _same(dist.norm_cdf(X), stats.norm.cdf(X))
    _same(dist.norm_sf(X), stats.norm.sf(X))
    _same(dist.norm_ppf(Q), stats.norm.ppf(Q))
    _same(dist.norm_ppf(list(Q[2:5])), stats.norm.ppf(list(Q[2:5])))


def test_f_functions_equal_scipy_stats():
    x, a, b = _grid(X, DF, DF[::2])
    _same(dist.f_sf(x, a, b), stats.f.sf(x, a, b))
    q, a, b = _grid(Q, DF, DF[1::2])
    _same(dist.f_ppf(q, a, b), stats.f.ppf(q, a, b))


def test_noncentral_chi2_cdf_equals_scipy_stats():
    x, df, nc = _grid(X, DF, np.array([-1.0, 0.0, 1e-6, 0.5, 12.0, 300.0, np.inf, np.nan]))
    _same(dist.ncx2_cdf(x, df, nc), stats.ncx2.cdf(x, df, nc))


def test_scalars_in_give_numpy_scalars_out_like_scipy_stats():
    for ours, theirs, args in [(dist.chi2_sf, stats.chi2.sf, (3.84, 1)),
                               (dist.t_ppf, stats.t.ppf, (0.975, 12)),
                               (dist.f_ppf, stats.f.ppf, (0.05, 3, 40)),
                               (dist.ncx2_cdf, stats.ncx2.cdf, (30.0, 20, 4.5)),
                               (dist.norm_ppf, stats.norm.ppf, (0.975,))]:
        a, b = ours(*args), theirs(*args)
        assert type(a) is type(b) is np.float64
        assert a == b


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


@pytest.mark.parametrize("seed", range(6))
def test_one_sample_t_matches_ttest_1samp(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(0.3 * seed, 2.0, size=rng.integers(2, 400)), 1)
    ours, theirs = one_sample_t(x), stats.ttest_1samp(x, 0.0)
    assert _rel(ours.statistic, float(theirs.statistic)) <= 1e-12
    assert _rel(ours.pvalue, float(theirs.pvalue)) <= 1e-12
    assert ours.df == theirs.df


@pytest.mark.parametrize("seed", range(6))
def test_line_fit_matches_linregress(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 500))
    x = rng.integers(1, 5, size=n).astype(float)
    x[:2] = [1.0, 2.0]
    y = np.round(80 + 1.5 * seed * x + rng.normal(0, 8, size=n))
    ours, theirs = line_fit(x, y), stats.linregress(x, y)
    for name in ("slope", "intercept", "rvalue", "pvalue", "stderr"):
        assert _rel(getattr(ours, name), float(getattr(theirs, name))) <= 1e-12, name


def test_line_fit_on_a_perfect_line():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    ours, theirs = line_fit(x, 2 * x + 1), stats.linregress(x, 2 * x + 1)
    assert (ours.slope, ours.rvalue, ours.pvalue, ours.stderr) == (
        theirs.slope, theirs.rvalue, theirs.pvalue, theirs.stderr)


@pytest.mark.parametrize("seed", range(6))
def test_kruskal_wallis_matches_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    groups = [rng.integers(20, 60 + 5 * seed, size=rng.integers(1, 80)).astype(float)
              for _ in range(int(rng.integers(2, 6)))]
    ours, theirs = kruskal_wallis(*groups), stats.kruskal(*groups)
    assert _rel(ours.statistic, float(theirs.statistic)) <= 1e-12
    assert _rel(ours.pvalue, float(theirs.pvalue)) <= 1e-12
    assert ours.df == len(groups) - 1


def test_kruskal_wallis_without_ties_and_with_nan():
    a, b = np.array([1.5, 2.25, 7.0]), np.array([3.0, 4.5, 9.0, 11.0])
    ours, theirs = kruskal_wallis(a, b), stats.kruskal(a, b)
    assert _rel(ours.statistic, float(theirs.statistic)) <= 1e-12
    assert np.isnan(kruskal_wallis(a, np.array([1.0, np.nan])).pvalue)


def test_report_path_does_not_import_scipy_stats():
    code = ("import sys, empathy_metrics.report.builder, empathy_metrics.cli, "
            "empathy_metrics.cohorts, empathy_metrics.effect_sizes, empathy_metrics.mixed, "
            "empathy_metrics.simulate; "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
