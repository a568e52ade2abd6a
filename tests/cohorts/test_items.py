"""Item-level change and alpha by time (cohorts.items) against R."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from .conftest import SCALES


def test_item_change_function_and_in_trend(raw, result):
    from empathy_metrics.cohorts import ItemChangeResult, item_change
    from empathy_metrics.scoring import keyed_items

    ic = item_change(raw, "jse-s", time="year")
    assert isinstance(ic, ItemChangeResult)
    keyed = keyed_items(raw, "jse-s")
    want = keyed[raw.year == 3].mean() - keyed[raw.year == 1].mean()
    assert ic.change[3].to_numpy() == pytest.approx(want.to_numpy(), rel=1e-12)
    assert (ic.change[1] == 0).all()
    assert ic.n.tolist() == [164, 143, 147, 142]
    pd.testing.assert_frame_equal(result.items.change, ic.change)
    assert result.item_change is result.items.change
    frame = ic.to_frame()
    assert len(frame) == 20 * 4 and set(frame.columns) >= {"item", "time", "n", "change"}
    assert "JSE1" in ic.summary()
    json.dumps(ic.to_dict())
    # a small time is hidden (with a complement) and a hidden reference shows no change
    small = pd.concat([raw[raw.year > 1], raw[raw.year == 1].head(7)])
    hid = item_change(small, "jse-s", time="year")
    assert hid.suppressed[1] and hid.suppressed.sum() == 2 and hid.n[1] is None
    assert hid.change.isna().all().all() and hid.notes
    ref2 = item_change(raw, "jse-s", time="year", reference=2)
    assert ref2.times[0] == 2 and (ref2.change[2] == 0).all()


def test_reliability_by_time_matches_psych_alpha(raw, ref):
    from empathy_metrics.cohorts import ReliabilityByTimeResult, reliability_by_time

    rb = reliability_by_time(raw, "jse-s", time="year")
    assert isinstance(rb, ReliabilityByTimeResult)
    t1 = rb.table[rb.table.time == 1].set_index("scale")
    for scale in SCALES:
        assert t1.loc[scale, "alpha"] == pytest.approx(ref["scales"][scale]["alpha_baseline"],
                                                       rel=1e-9)
        assert t1.loc[scale, "ci_low"] < t1.loc[scale, "alpha"] < t1.loc[scale, "ci_high"]
    assert not rb.table["suppressed"].any()
    small = pd.concat([raw[raw.year < 4], raw[raw.year == 4].head(5)])
    rs = reliability_by_time(small, "jse-s", time="year", scales=["total"])
    assert rs.table.set_index("time").loc[4, "suppressed"]
    assert rs.table["suppressed"].sum() == 2
    assert rs.table.loc[rs.table.suppressed, ["n", "alpha", "ci_low"]].isna().all().all()
    json.dumps(rs.to_dict())
