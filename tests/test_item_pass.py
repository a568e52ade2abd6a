"""The one-pass listwise moments (``_item_pass.listwise_moments``, used by ``reliability`` for
Feldt CIs) equal the plain computation on the keyed item matrix.

The plain computation: per scale, the rows of ``keyed_items`` complete on the scale's items,
``mean`` and ``np.cov`` (ddof 1). Random instruments (any range, reverse keying, subscales),
missing, out-of-range and non-integer codes, and block sizes 1..40 cells (many blocks, a
partial last one, blocks with and without missing codes). Tolerance 1e-12 absolute: the codes
are small integers, whose sums the kernel keeps exact.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from empathy_metrics import _item_pass
from empathy_metrics.errors import DroppedCodesWarning
from empathy_metrics.reliability import reliability
from empathy_metrics.scoring import keyed_items

from .conftest import jse_sim_responses
from .test_scoring_fast_path import cases

TOL = 1e-12


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(1, 40), st.booleans())
def test_listwise_moments_equal_the_keyed_matrix(case, block_cells, as_int):
    inst, data = case
    if as_int:  # integer columns are read as stored, without a float copy
        data = data.fillna(inst.response_min).round().astype(np.int64)
    keyed = keyed_items(data, inst)
    pos = {iid: j for j, iid in enumerate(inst.item_ids)}
    scales = {s: [pos[i] for i in ids] for s, ids in inst.scales.items()}
    codes = _item_pass.read_codes(data, inst)
    got, dropped = _item_pass.listwise_moments(codes, scales, block_cells=block_cells)
    x = data.to_numpy(float)
    present = ~np.isnan(x)
    answered = present & (x >= inst.response_min) & (x <= inst.response_max) & (x == np.round(x))
    np.testing.assert_array_equal(dropped, (present & ~answered).sum(axis=0))
    for scale, ids in inst.scales.items():
        rows = keyed[list(ids)].dropna().to_numpy()
        m = got[scale]
        assert m.n == rows.shape[0], scale
        if m.n < 2:
            assert np.isnan(m.cov).all() and np.isnan(m.mean).all()
            continue
        np.testing.assert_allclose(m.mean, rows.mean(axis=0), rtol=0, atol=TOL, err_msg=scale)
        np.testing.assert_allclose(m.cov, np.cov(rows, rowvar=False).reshape(m.cov.shape),
                                   rtol=0, atol=TOL, err_msg=scale)


def test_reliability_feldt_path_equals_the_keyed_path():
    """The one-pass path (Feldt, Pearson, listwise) and the keyed-matrix path (taken for a
    bootstrap CI) give the same alpha, item statistics and out-of-range note."""
    inst, data = jse_sim_responses()
    data = data[inst.item_ids].astype(float)
    data.iloc[:3, 0] = 9  # out of range
    data.iloc[5:40, 3] = np.nan
    with pytest.warns(DroppedCodesWarning):
        fast = reliability(data, "jse-s", omega=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedCodesWarning)
        slow = reliability(data, "jse-s", omega=False, ci="bootstrap", n_boot=20, seed=1)
    assert fast.notes == slow.notes and fast.notes
    for scale in fast.scales:
        a, b = fast[scale], slow[scale]
        assert a.n == b.n
        for name in ("alpha", "std_alpha", "lambda6", "average_r"):
            assert getattr(a, name) == pytest.approx(getattr(b, name), abs=1e-12), name
        pd.testing.assert_frame_equal(a.item_statistics, b.item_statistics, rtol=0, atol=1e-12)
