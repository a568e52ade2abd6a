"""Change that matters (cohorts.change) against R (tests/reference/change.R)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from empathy_metrics.cohorts import trend
from empathy_metrics.scoring import score

from .conftest import REF, RTOL_EXACT, SCALES

#: Welch CI, d: closed forms, vs R t.test/effectsize::cohens_d to rounding.
RTOL_D = 1e-9


@pytest.fixture(scope="module")
def ref_change():
    return json.loads((REF / "change.json").read_text())


@pytest.mark.parametrize("scale", SCALES)
def test_change_that_matters_matches_r(result, ref_change, scale):
    mc = result.meaningful_change
    mc = mc[mc["scale"] == scale].set_index("time")
    want_scale = ref_change["scales"][scale]
    for want in want_scale["by_time"]:
        got = mc.loc[want["time"]]
        assert got["n"] == want["n"] and got["n_items"] == want_scale["n_items"]
        for key in ("sd", "alpha", "sem", "sem_per_item"):
            assert got[key] == pytest.approx(want[key], rel=RTOL_EXACT), key
        assert got["alpha_source"] == "Cronbach alpha" and got["design"] == "different students"
        if want["time"] == ref_change["reference"]:
            assert got["diff_per_item"] == 0 and got["n_pairs"] is None
            continue
        assert got["diff_per_item"] == pytest.approx(want["diff_per_item"], rel=RTOL_EXACT)
        assert [got["diff_per_item_ci_low"], got["diff_per_item_ci_high"]] == pytest.approx(
            want["diff_per_item_ci"], rel=RTOL_EXACT)
        assert got["d_vs_ref"] == pytest.approx(want["d"], rel=RTOL_D)
        assert got["rc_threshold"] == pytest.approx(want["rc_threshold_exact"], rel=RTOL_EXACT)
        assert got["rc_threshold_per_item"] * want_scale["n_items"] == pytest.approx(
            want["rc_threshold_exact"], rel=RTOL_EXACT)
        assert got["n_pairs"] == want["n_pairs"]
        # a share is shown only when its count is (at least min_cell students)
        for direction in ("decline", "improvement"):
            share = got[f"reliable_{direction}_share"]
            if want[direction] >= result.min_cell:
                assert share == pytest.approx(want[f"{direction}_share"], rel=RTOL_EXACT)
            else:
                assert share is None or np.isnan(share)


def test_reliable_change_rows_carry_their_share(result):
    rc = result.reliable_change
    shown = rc[rc["count"].notna()]
    assert len(shown) and np.allclose(shown["share"], shown["count"].astype(float)
                                      / shown["n"].astype(float))
    assert rc.loc[rc["count"].isna(), "share"].isna().all()


def test_given_alpha_and_scored_input(raw):
    scored = score(raw, "jse-s").scores.join(raw[["id", "year"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = trend(scored, "jse-s", time="year", id="id", scales=["total"], mixed=False)
        given = trend(scored, "jse-s", time="year", id="id", scales=["total"], mixed=False,
                      alpha={"total": 0.8})
    # no items and no alpha: no SEM (never a made-up reliability)
    assert res.meaningful_change["sem"].isna().all()
    assert (res.meaningful_change["alpha_source"] == "none").all()
    mc = given.meaningful_change
    assert np.allclose(mc["sem"], mc["sd"].astype(float) * np.sqrt(0.2))
    assert (mc["alpha_source"] == "given").all()


def test_hidden_time_shows_no_change_that_matters(raw):
    small = raw[(raw.year != 4) | (raw.index % 20 == 0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = trend(small, "jse-s", time="year", id="id", scales=["total"], mixed=False)
    mc = res.meaningful_change.set_index("time")
    assert mc.loc[4, "suppressed"]
    assert mc.loc[4, ["sd", "alpha", "sem", "diff_per_item", "d_vs_ref"]].isna().all()
    assert mc.loc[4, "n"] is None or np.isnan(mc.loc[4, "n"])
    js = res.to_dict()["scales"]["total"]["meaningful_change"]
    assert [r["time"] for r in js] == [1, 2, 3, 4] and js[3]["sem"] is None
    assert "change that matters 1->3" in res.summary()
