"""Rotations against GPArotation/psych (via tests/reference/efa.json) and their invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from empathy_metrics.errors import DataError
from empathy_metrics.rotation import ORTHOGONAL_ROTATIONS, ROTATIONS, rotate

from .conftest import load_reference

#: Rotating R's own unrotated loadings must give R's rotated loadings to this tolerance.
ROTATION_TOL = 1e-4
#: Algebraic identities (communalities, L Phi L', L = A T) hold to rounding error.
IDENTITY_TOL = 1e-8

REF = load_reference("efa")
OBLIQUE = [m for m in ROTATIONS if m not in ORTHOGONAL_ROTATIONS]


@pytest.mark.parametrize("name", ["bfi", "hs"])
@pytest.mark.parametrize("method", ["minres", "ml", "pa"])
@pytest.mark.parametrize("rotation", ROTATIONS)
def test_rotating_psych_unrotated_loadings_gives_psych_rotation(name, method, rotation) -> None:
    fits = REF[name]["fa"]
    unrotated = np.array(fits[f"{method}_none"]["loadings"])
    expected = fits[f"{method}_{rotation}"]
    res = rotate(unrotated, rotation)
    np.testing.assert_allclose(res.loadings, expected["loadings"], atol=ROTATION_TOL)
    np.testing.assert_allclose(res.phi, expected["phi"], atol=ROTATION_TOL)


@st.composite
def loading_matrices(draw: st.DrawFn) -> np.ndarray:
    """Full-rank p x k loading matrices with no all-zero row (2 <= k <= 4, p >= k + 3)."""
    k = draw(st.integers(2, 4))
    p = draw(st.integers(k + 3, 12))
    a = draw(arrays(np.float64, (p, k), elements=st.floats(-0.9, 0.9, width=64)))
    assume(np.all(np.sum(a**2, axis=1) > 1e-2))
    assume(np.linalg.svd(a, compute_uv=False)[-1] > 1e-2)
    return a


@pytest.mark.filterwarnings("ignore::empathy_metrics.errors.DegenerateDataWarning")
@settings(max_examples=25, deadline=None)
@given(a=loading_matrices(), method=st.sampled_from(list(ORTHOGONAL_ROTATIONS)))
def test_orthogonal_rotation_preserves_communalities(a, method) -> None:
    res = rotate(a, method)
    np.testing.assert_allclose(np.sum(res.loadings**2, axis=1), np.sum(a**2, axis=1),
                               atol=IDENTITY_TOL)
    np.testing.assert_allclose(res.phi, np.eye(a.shape[1]))
    t = res.rotation_matrix
    np.testing.assert_allclose(t.T @ t, np.eye(a.shape[1]), atol=IDENTITY_TOL)
    np.testing.assert_allclose(a @ t, res.loadings, atol=IDENTITY_TOL)


@pytest.mark.filterwarnings("ignore::empathy_metrics.errors.DegenerateDataWarning")
@settings(max_examples=25, deadline=None)
@given(a=loading_matrices(), method=st.sampled_from(OBLIQUE))
def test_oblique_rotation_reproduces_common_part(a, method) -> None:
    res = rotate(a, method)
    lam, phi = res.loadings, res.phi
    np.testing.assert_allclose(lam @ phi @ lam.T, a @ a.T, atol=1e-6)
    np.testing.assert_allclose(np.diag(phi), 1.0, atol=IDENTITY_TOL)
    np.testing.assert_allclose(phi, phi.T, atol=IDENTITY_TOL)
    np.testing.assert_allclose(a @ res.rotation_matrix, lam, atol=1e-6)


@pytest.mark.filterwarnings("ignore::empathy_metrics.errors.DegenerateDataWarning")
@settings(max_examples=25, deadline=None)
@given(a=loading_matrices(), method=st.sampled_from(list(ROTATIONS)))
def test_psych_conventions_sign_and_order(a, method) -> None:
    res = rotate(a, method)
    assert np.all(res.loadings.sum(axis=0) >= 0)
    ev = np.diag(res.phi @ res.loadings.T @ res.loadings)
    assert np.all(np.diff(ev) <= 1e-10)


def test_oblimin_minimises_quartimin_criterion_locally() -> None:
    a = np.array(REF["hs"]["fa"]["minres_none"]["loadings"])
    res = rotate(a, "oblimin")

    def quartimin(lam: np.ndarray) -> float:
        sq = lam**2
        return float(np.sum(sq * (sq @ (1 - np.eye(lam.shape[1])))) / 4)

    base = quartimin(res.loadings)
    rng = np.random.default_rng(0)
    # pattern = a @ inv(Th)' with unit-length columns of Th; rotation_matrix = inv(Th)'
    th = np.linalg.inv(res.rotation_matrix).T
    np.testing.assert_allclose(np.sum(th**2, axis=0), 1.0, atol=IDENTITY_TOL)
    for _ in range(20):
        pert = th + rng.normal(scale=1e-3, size=th.shape)
        pert /= np.sqrt(np.sum(pert**2, axis=0))
        assert quartimin(a @ np.linalg.inv(pert).T) >= base - 1e-9


def test_single_factor_is_returned_unchanged() -> None:
    a = np.array([[0.5], [0.6], [0.7]])
    res = rotate(a, "oblimin")
    np.testing.assert_allclose(res.loadings, a)
    np.testing.assert_allclose(res.phi, [[1.0]])


def test_bad_input_raises_data_error() -> None:
    with pytest.raises(DataError, match="unknown rotation"):
        rotate(np.ones((4, 2)), "quartimax")
    with pytest.raises(DataError, match="2-D"):
        rotate(np.ones(4), "varimax")
    with pytest.raises(DataError, match="NaN"):
        rotate(np.array([[np.nan, 1.0], [0.2, 0.3], [0.1, 0.4]]), "varimax")
    with pytest.raises(DataError, match="all-zero"):
        rotate(np.array([[0.0, 0.0], [0.2, 0.3], [0.1, 0.4]]), "promax")
