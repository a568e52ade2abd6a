"""Protected histograms and the distribution table (cohorts.distribution)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from empathy_metrics.cohorts import trend
from empathy_metrics.errors import InputError

from .conftest import RTOL_EXACT


# ---------------------------------------------------------------- distribution and histogram
def _hist_frame(counts_by_time: dict[int, list[int]]) -> pd.DataFrame:
    """Scored data (``total`` of jse-s, 20-140) from integer scores per time."""
    rows = [{"year": t, "total": float(v)} for t, vals in counts_by_time.items() for v in vals]
    return pd.DataFrame(rows, columns=["year", "total"])


def _check_histogram_protection(hist, data: pd.DataFrame, min_cell: int) -> None:
    from empathy_metrics.suppression import recoverable_cells

    table = hist.table
    for (_scale, t), bins in table.groupby(["scale", "time"]):
        y = data.loc[data["year"] == t, "total"].to_numpy(float)
        shown = bins[~bins["suppressed"]]
        counts = shown["count"].astype(int).to_numpy()
        # no shown bin describes 1..min_cell-1 respondents
        assert not ((counts >= 1) & (counts < min_cell)).any(), bins
        n_row = hist.n[hist.n["time"] == t].iloc[0]
        if n_row["suppressed"]:
            assert bins["suppressed"].all() and bins["count"].isna().all()
            continue
        assert n_row["n"] == y.size
        # the bins partition the scores: true counts add up to n, each bin its own range
        true = []
        for b in bins.itertuples():
            # half-open [low, high); only the last bin (label "...]") and the open top bins
            # are closed at the scale's maximum
            closed = b.open in ("high", "both") or str(b.label).endswith("]")
            inside = (y >= b.low) & ((y < b.high) | (closed & (y <= b.high)))
            true.append(int(inside.sum()))
            if not b.suppressed:
                assert int(b.count) == true[-1]
            if b.open in ("low", "high"):
                assert true[-1] >= min_cell  # the tails hold at least min_cell
        assert sum(true) == y.size
        # hidden bins cannot be recovered from the shown bins and the time's n (one margin)
        hidden = bins["suppressed"].to_numpy(bool)
        rec = recoverable_cells(hidden, np.ones((1, hidden.size)))
        assert not rec.any()
        if hidden.any():
            assert hidden.sum() >= 2
            hidden_total = n_row["n"] - counts.sum()
            assert hidden_total == sum(np.array(true)[hidden])
            # zeros are shown, so a hidden bin holds >= 1 (an open tail bin >= min_cell): the
            # hidden total must leave every hidden bin more than one possible value
            lower = np.where(bins["open"].isna(), 1, min_cell)[hidden]
            assert hidden_total > lower.sum()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(20, 140), min_size=0, max_size=60), min_size=2,
                max_size=4),
       st.integers(2, 12), st.sampled_from([1, 3, 5, 10]))
def test_histogram_never_shows_a_small_bin(score_lists, min_cell, width):
    from empathy_metrics.cohorts import score_histogram

    data = _hist_frame({i + 1: v for i, v in enumerate(score_lists)})
    assume(data["year"].nunique() >= 2)
    hist = score_histogram(data, "jse-s", time="year", scales=["total"], bin_width=width,
                           min_cell=min_cell)
    _check_histogram_protection(hist, data, min_cell)


def test_histogram_tail_coding_and_complement_exactly():
    from empathy_metrics.cohorts import score_histogram

    # year 1 (bins of 5 from 20): 3 at 60, 8 at 92 -> bottom open bin "< 95" holds 11;
    # 12 at 100, 4 at 111 (primary), 15 at 117, 13 at 133; the 4 needs a complement: the
    # smallest interior bin, [100, 105) with 12 (not the open "< 95" with 11, which a reader
    # knows holds at least 10). Year 2 is plain.
    y1 = [60] * 3 + [92] * 8 + [100] * 12 + [111] * 4 + [117] * 15 + [133] * 13
    y2 = [100] * 10 + [110] * 10
    data = _hist_frame({1: y1, 2: y2})
    hist = score_histogram(data, "jse-s", time="year", scales=["total"], min_cell=10)
    b1 = hist.table[hist.table["time"] == 1].set_index("label")
    assert list(b1.index) == ["< 95", "[95, 100)", "[100, 105)", "[105, 110)", "[110, 115)",
                              "[115, 120)", "[120, 125)", "[125, 130)", "\u2265 130"]
    assert b1.loc["< 95", "open"] == "low" and b1.loc["\u2265 130", "open"] == "high"
    assert b1.loc["\u2265 130", "count"] == 13 and b1.loc["< 95", "count"] == 11
    assert b1.loc["[95, 100)", "count"] == 0 and not b1.loc["[95, 100)", "suppressed"]
    assert b1.loc["[110, 115)", "primary_suppressed"] and b1.loc["[110, 115)", "suppressed"]
    assert pd.isna(b1.loc["[110, 115)", "count"])
    assert b1.loc["[100, 105)", "suppressed"]
    assert not b1.loc["[100, 105)", "primary_suppressed"]
    assert b1["suppressed"].sum() == 2
    _check_histogram_protection(hist, data, 10)
    # the same bins from a trend result (default width 5 for the total)
    tr = trend(data, "jse-s", time="year", scales=["total"], mixed=False)
    pd.testing.assert_frame_equal(tr.histogram.reset_index(drop=True),
                                  hist.table.reset_index(drop=True))
    d = tr.distribution.set_index("time")
    # min 60 is one of 3 respondents: bottom-coded to the open bin's edge; max 133 is shared
    # by 13 >= 10: shown exactly. Mode: 117 (15 respondents).
    assert d.loc[1, "min"] == 95 and d.loc[1, "min_coded"]
    assert d.loc[1, "max"] == 133 and not d.loc[1, "max_coded"]
    assert d.loc[1, "mode"] == 117
    y = np.array(y1, float)
    assert [d.loc[1, k] for k in ("q1", "median", "q3")] == pytest.approx(
        np.percentile(y, [25, 50, 75]), rel=RTOL_EXACT)
    assert d.loc[1, "mean"] == pytest.approx(y.mean(), rel=RTOL_EXACT)
    # year 2: ties 100 and 110 (10 each) -> the smallest; min and max each shared by 10
    assert d.loc[2, "mode"] == 100 and d.loc[2, "min"] == 100 and d.loc[2, "max"] == 110
    assert not d.loc[2, "min_coded"] and not d.loc[2, "max_coded"]


def test_mode_needs_min_cell_and_rounds_to_whole_points():
    data = _hist_frame({1: list(range(60, 100)) + [100.4, 99.6], 2: [100] * 12})
    tr = trend(data, "jse-s", time="year", scales=["total"], mixed=False)
    d = tr.distribution.set_index("time")
    assert pd.isna(d.loc[1, "mode"])  # the most frequent score (100, 3 times) has 3 < 10
    data2 = _hist_frame({1: [100.4, 99.6] + [100] * 8 + list(range(60, 80)), 2: [100] * 12})
    d2 = trend(data2, "jse-s", time="year", scales=["total"], mixed=False).distribution
    assert d2.set_index("time").loc[1, "mode"] == 100  # 99.6 and 100.4 count as 100


def test_suppressed_time_shows_no_distribution_or_bins(raw):
    small = pd.concat([raw[raw.year < 4], raw[raw.year == 4].head(5)])
    tr = trend(small, "jse-s", time="year", mixed=False)
    hidden = set(tr.by_time.loc[tr.by_time["suppressed"], "time"])
    assert 4 in hidden and len(hidden) >= 2
    dist = tr.distribution[tr.distribution["time"].isin(hidden)]
    assert dist["suppressed"].all()
    assert dist[["n", "mean", "sd", "min", "q1", "median", "q3", "max", "mode"]].isna().all().all()
    bins = tr.histogram[tr.histogram["time"].isin(hidden)]
    assert bins["suppressed"].all() and bins["count"].isna().all()
    assert (bins.groupby(["scale", "time"]).size() == 1).all()  # not even the bin layout
    shown = tr.distribution[~tr.distribution["time"].isin(hidden)]
    assert not shown["suppressed"].any() and shown["mean"].notna().all()
    js = tr.to_dict()
    for scale in tr.scales:
        part = js["scales"][scale]
        assert {"by_time", "tests", "norms", "distribution", "histogram"} <= set(part)
        for row in part["distribution"]:
            if row["time"] in hidden:
                assert row["n"] is None and row["min"] is None and row["mode"] is None
        for row in part["histogram"]:
            if row["time"] in hidden:
                assert row["count"] is None
    json.dumps(js)


def test_default_bin_width_and_resolution():
    from empathy_metrics.cohorts import default_bin_width, score_resolution

    assert default_bin_width("jse-s", "total") == 5
    assert default_bin_width("jse-s", "standing_in_patients_shoes") == 1
    assert default_bin_width("jse-s", "perspective_taking") == 5
    assert score_resolution("jse-s", "total") == 1


def test_score_histogram_errors(result):
    from empathy_metrics.cohorts import score_histogram

    with pytest.raises(InputError):
        score_histogram(pd.DataFrame({"year": [1, 2], "total": [1.0, 2.0]}))
    with pytest.raises(InputError):
        score_histogram(result, min_cell=result.min_cell - 1)
    with pytest.raises(InputError):
        score_histogram(result, bin_width=0)
    h = score_histogram(result, scales=["total"], bin_width=10)
    assert h.bin_width == {"total": 10.0}
    assert set(h.to_dict()["scales"]) == {"total"}


def test_score_histogram_with_a_larger_min_cell_hides_more_times(raw):
    from empathy_metrics.cohorts import score_histogram

    small = pd.concat([raw[raw.year < 4], raw[raw.year == 4].head(15)])
    tr = trend(small, "jse-s", time="year", scales=["total"], mixed=False)
    assert not tr.by_time["suppressed"].any()  # 15 >= 10
    h = score_histogram(tr, min_cell=20)
    hidden = set(h.n.loc[h.n["suppressed"], "time"])
    assert 4 in hidden and len(hidden) == 2  # 15 < 20, plus a complement
    assert h.table.loc[h.table["time"].isin(hidden), "count"].isna().all()
    shown = h.table[~h.table["suppressed"]]["count"].astype(int)
    assert not ((shown >= 1) & (shown < 20)).any()
    assert h.n.loc[~h.n["suppressed"], "n"].map(type).eq(int).all()


def test_hidden_bins_are_not_pinned_by_their_lower_bounds():
    from empathy_metrics.cohorts import score_histogram

    # two single respondents (bins [100,105) and [110,115)) between the open tails: hiding
    # just the two would tell a reader both hold 1 (zeros are shown); a third bin is hidden
    y1 = [60] * 10 + [101] + [111] + [120] * 20 + [138] * 10
    # one respondent between two open tails of 10, nothing else: the time is one bin
    y2 = [60] * 10 + [101] + [138] * 10
    data = _hist_frame({1: y1, 2: y2})
    hist = score_histogram(data, "jse-s", time="year", scales=["total"], min_cell=10)
    b1 = hist.table[hist.table["time"] == 1].set_index("label")
    assert list(b1.index[b1["suppressed"]]) == ["[100, 105)", "[110, 115)", "[120, 125)"]
    b2 = hist.table[hist.table["time"] == 2]
    assert len(b2) == 1 and b2["label"].iloc[0] == "all scores" and b2["count"].iloc[0] == 21
    _check_histogram_protection(hist, data, 10)
