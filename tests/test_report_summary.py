"""Page one (sections/summary.py): newest class, honest wording, three numbers, conclusions."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pandas as pd
import pytest

from empathy_metrics.cohorts import trend
from empathy_metrics.report import build_report, builder
from empathy_metrics.report.sections import section_specs

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"


def _only(monkeypatch, *ids):
    specs = [s for s in section_specs() if s.id in ids]
    monkeypatch.setattr(builder, "section_specs", lambda: specs)


def _text(section) -> str:
    parts = []
    for b in section.blocks:
        if isinstance(b, tuple):
            parts.append(str(b))
    return " ".join(parts)


def _svg(section, name) -> str:
    fig = next(f for f in section.figures if f.name == name)
    return base64.b64decode(fig.uri.split(",", 1)[1]).decode()


def test_one_year_export_is_worded_as_different_students(monkeypatch):
    """No id: a gap between years compares different students, never 'the same students'."""
    _only(monkeypatch, "summary")
    frame = pd.read_csv(DATA).drop(columns=["id"])
    rep = build_report(frame, "jse-s", time="year", progress=False)
    sec = rep.section("summary")
    headline = sec.blocks[0][1]
    tr = trend(frame, "jse-s", time="year", mixed=False)
    last = tr.by_time[(tr.by_time.scale == "total") & (tr.by_time.time == 4)].iloc[0]
    assert headline.startswith("Students in year 1 averaged")
    assert f"{abs(last.diff_vs_ref):.1f} points lower than students in year 1" in headline
    assert "different students" in headline and "not a change of the same students" in headline
    text = _text(sec)
    assert "following the same students" not in text
    labels = [c[0] for c in rep.highlights]
    assert labels[1] == "Year 1 → 4 (different students)"
    cols = next(b for b in sec.blocks if isinstance(b, tuple) and b[0] == "cols")
    cannot = dict(cols[1])["What you cannot conclude"]
    assert any("different students" in c for c in cannot)
    assert any("could not be checked" in c for c in cannot)  # no invariance run


def test_newest_class_is_the_headline_and_the_chart_shows_it(monkeypatch):
    _only(monkeypatch, "change", "summary")
    frame = pd.read_csv(DATA)
    rep = build_report(frame, "jse-s", time="year", id="id", cohort="cohort", progress=False)
    sec = rep.section("summary")
    tr = trend(frame, "jse-s", time="year", cohort="cohort", mixed=False)
    ct = tr.cohort_trajectories
    newest = ct[(ct.scale == "total") & ~ct.suppressed.astype(bool)]
    newest = newest[newest.cohort == newest.cohort.max()].sort_values("time").iloc[-1]
    headline = sec.blocks[0][1]
    assert headline.startswith(f"The newest class (cohort {newest.cohort}) averaged "
                               f"{newest['mean']:.1f}")
    assert "national norm of 116.5" in headline  # jse-s carries the Hojat 2018 norm
    card = rep.highlights[0]
    assert card[1] == f"{newest['mean']:.1f}"
    assert f"likely between {newest.ci_low:.1f} and {newest.ci_high:.1f}" in card[2]
    assert rep.highlights[1][0].endswith("(same students)")  # the mixed model follows them
    assert rep.highlights[2][0] == "Compared with the national norm"
    svg = _svg(sec, "summary")
    assert 'id="norm_band"' in svg and 'id="newest"' in svg
    # the zoomed axis says so: a break mark and the shown vs possible range
    assert 'id="axis_break' in svg
    assert re.search(r"of the possible 20–140", svg)


@pytest.mark.parametrize("instrument", ["iri"])
def test_without_norms_the_third_number_is_the_size_of_the_change(monkeypatch, instrument):
    import numpy as np

    from empathy_metrics.instruments import load_instrument

    _only(monkeypatch, "summary")
    inst = load_instrument(instrument)
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame(rng.integers(inst.response_min, inst.response_max + 1,
                                      size=(n, len(inst.item_ids))), columns=inst.item_ids)
    frame["wave"] = np.repeat([1, 2, 3], n // 3)
    rep = build_report(frame, inst, time="wave", progress=False)
    assert [c[0] for c in rep.highlights][2] == "Size of the change"
    assert "norm" not in rep.section("summary").blocks[0][1]


ATTRITION = Path(__file__).parent / "reference" / "data" / "attrition_sim.csv"
#: lme4 estimates in tests/reference/attrition.json are given to ~1e-12; the card rounds to 0.1.
RTOL_MODEL = 1e-6


def test_cohort_sequential_design_uses_the_year_effect_and_its_own_size(monkeypatch):
    """Cohorts followed over years (tests/reference/attrition.R): page one's first→last change
    is the year-of-training effect of the cohort-sequential lmer (same students, cohorts held
    apart), and its size word comes from that estimate over the model's SD of one answer."""
    import json

    from scipy import stats

    from empathy_metrics.report._models import model_d
    from empathy_metrics.report._words import effect_word

    _only(monkeypatch, "change", "attrition", "summary")
    ref = json.loads((ATTRITION.parent.parent / "attrition.json").read_text())
    cs = ref["cohort_sequential"]
    term = cs["terms"]["time[4]"]
    q = stats.t.ppf(0.975, term["df"])
    low, high = term["estimate"] - q * term["se"], term["estimate"] + q * term["se"]
    d_r = term["estimate"] / (cs["sigma"] ** 2 + cs["sd_intercept"] ** 2) ** 0.5
    rep = build_report(pd.read_csv(ATTRITION), "jse-s", time="year", id="id",
                       cohort="cohort", min_cell=10, progress=False)
    model = rep.section("attrition")  # the model whose year effect page one shows
    assert any(t.name == "cohort_sequential" for t in model.tables)
    card = rep.highlights[1]
    assert card[0] == "Year 1 → 4 (same students)"
    assert card[1] == f"{term['estimate']:+.1f} points".replace("-", "\u2212")
    assert f"likely between {low:.1f} and {high:.1f} points".replace("-", "\u2212") in card[2]
    headline = rep.section("summary").blocks[0][1]
    assert "a mixed model that holds the entering classes apart" in headline
    assert f"({effect_word(d_r)} change)" in headline or f"(a {effect_word(d_r)} change)" \
        in headline
    # model_d is the formula the headline used, on lme4's numbers
    assert model_d(term["estimate"], cs) == pytest.approx(d_r, rel=RTOL_MODEL)
    # the respondents' (cross-sectional) d of year 4 vs 1 differs: the word is not taken from it
    bt = trend(pd.read_csv(ATTRITION), "jse-s", time="year", mixed=False).by_time
    d_cross = bt[(bt.scale == "total") & (bt.time == 4)].d_vs_ref.iloc[0]
    assert abs(d_cross - d_r) > 0.05


def test_mixed_model_change_takes_its_size_from_the_model(monkeypatch):
    """Ids but no cohort column: the change is the mixed model's time effect and the third
    card (an instrument without norms) gives d = estimate / model SD, not the respondents'
    Cohen's d."""
    import numpy as np

    from empathy_metrics.instruments import load_instrument

    _only(monkeypatch, "change", "attrition", "summary")
    inst = load_instrument("iri")
    rng = np.random.default_rng(5)
    n, waves = 150, 3
    person = rng.normal(0, 0.8, n)
    rows = []
    for w in range(waves):
        shift = -0.45 * w
        raw = np.clip(np.round(2 + person[:, None] + shift + rng.normal(0, 0.9, (n, 28))),
                      inst.response_min, inst.response_max)
        rows.append(pd.DataFrame(raw, columns=inst.item_ids).assign(wave=w + 1,
                                                                     sid=np.arange(n)))
    frame = pd.concat(rows, ignore_index=True)
    rep = build_report(frame, inst, time="wave", id="sid", progress=False)
    sec = rep.section("change")
    mm = next(t for t in sec.tables if t.name == "mixed_model").data
    scale = mm["scale"].iloc[0]
    est = mm[(mm.scale == scale) & (mm.term == "time[3]")].estimate.iloc[0]
    sigma = mm[(mm.scale == scale) & (mm.term == "residual SD")].estimate.iloc[0]
    sd_id = mm[(mm.scale == scale)
               & (mm.term == "random-intercept SD (between students)")].estimate.iloc[0]
    d = est / np.hypot(sigma, sd_id)
    card = rep.highlights[2]
    assert card[0] == "Size of the change"
    assert f"d = {d:.2f}".replace("-", "\u2212") in card[2] and "mixed model" in card[2]
    assert rep.highlights[1][0].endswith("(same students)")
