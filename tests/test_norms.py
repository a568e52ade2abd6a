"""z-scores and percentile ranks against an instrument's published norms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from empathy_metrics.errors import InputError
from empathy_metrics.instruments import load_instrument
from empathy_metrics.norms import METHOD_NORMAL, METHOD_TABLE, norm_scores, percentile_rank


def test_normal_approximation_against_jse_national_norm():
    # Hojat et al. 2018: mean 116.54, SD 10.85 (the jse-s YAML)
    scores = pd.Series([116.54, 127.39, np.nan], index=["a", "b", "c"])
    res = norm_scores(scores, "jse-s", "total")
    assert res.method == METHOD_NORMAL
    assert res.scores["z"].tolist()[:2] == pytest.approx([0.0, 1.0])
    assert res.scores.loc["b", "percentile"] == pytest.approx(100 * stats.norm.cdf(1.0))
    assert np.isnan(res.scores.loc["c", "percentile"])
    assert "116.54" in res.summary()
    assert res.to_dict()["method"] == METHOD_NORMAL


def test_group_norm_selected():
    res = norm_scores(np.array([112.3]), "jse-s", "total", group="men")
    assert res.scores["z"].iloc[0] == pytest.approx(0.0)
    assert res.norm.sd == 10.8


def test_published_table_used_when_present():
    inst = load_instrument("jse-s")
    norm = dataclasses.replace(inst.norms_for("total", "all")[0],
                               percentiles={100.0: 10.0, 110.0: 30.0, 120.0: 60.0})
    pct, method = percentile_rank(np.array([105.0, 120.0, 90.0, 130.0, np.nan]), norm)
    assert method == METHOD_TABLE
    assert pct[:4] == pytest.approx([20.0, 60.0, 10.0, 60.0])
    assert np.isnan(pct[4])


def test_missing_norm_is_a_clear_error():
    with pytest.raises(InputError, match="no norm for scale 'perspective_taking'"):
        norm_scores(np.array([50.0]), "jse-s", "perspective_taking")


def test_instrument_without_norms_says_none_available():
    with pytest.raises(InputError, match="available: none"):
        norm_scores(np.array([30.0]), "teq", "total")


def test_norm_result_interface():
    res = norm_scores(pd.Series([100.0, 116.54, 130.0]), "jse-s", "total")
    frame = res.to_frame()
    assert list(frame.columns) == ["score", "z", "percentile"]
    assert frame["percentile"].is_monotonic_increasing
    d = res.to_dict()
    assert d["norm"]["n"] == 6009 and "Hojat" in d["norm"]["citation"]
    assert d["sample"]["median_percentile"] == pytest.approx(50.0)
