"""The report's comparability verdict (report/sections/_comparability.py, issue 13 item 5):
longitudinal invariance per subscale when student ids repeat across the time column, the
multi-group model otherwise (and for subscales the longitudinal model cannot hold), and the
design named in the text, the tables and ``to_dict``. The invariance numbers themselves are
tested against lavaan in test_cfa_longitudinal.py / test_cfa_missing.py; here the report must
show exactly what :func:`empathy_metrics.cfa.invariance` returns for the design it names."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from empathy_metrics import _longitudinal
from empathy_metrics.cfa import invariance
from empathy_metrics.instruments import load_instrument
from empathy_metrics.report import build_report
from empathy_metrics.report._context import STEPS, Progress, Runner
from empathy_metrics.report._tables import Section
from empathy_metrics.report.sections import _comparability as comp_mod

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"
INST = load_instrument("jse-s")
PT, CC, SPS = "perspective_taking", "compassionate_care", "standing_in_patients_shoes"


@pytest.fixture(scope="module")
def two_years() -> pd.DataFrame:
    """Years 1 and 2 of the simulated panel (ids repeat; 20 and 16 wide variables)."""
    frame = pd.read_csv(DATA)
    return frame[frame["year"].isin([1, 2])].reset_index(drop=True)


def _ctx(frame: pd.DataFrame, id_col: str | None) -> SimpleNamespace:
    """The parts of the report context the comparability subsection reads."""
    return SimpleNamespace(inst=INST, time="year", tw="year", id=id_col, frame=frame,
                           min_cell=10, run=Runner(Progress("off", STEPS)),
                           name=INST.scale_name)


def _model(scale: str) -> str:
    return f"{scale} =~ " + " + ".join(INST.scales[scale])


@pytest.fixture(scope="module")
def longitudinal(two_years):
    section = Section("comparability", "Comparability")
    result = comp_mod.comparability(_ctx(two_years, "id"), section, [1, 2])
    return result, section


def test_repeated_ids_give_longitudinal_invariance_per_subscale(two_years, longitudinal):
    result, _ = longitudinal
    assert result.design == "longitudinal+multigroup"
    designs = {(p.scale, p.design) for p in result.parts}
    assert designs == {(PT, "longitudinal"), (CC, "longitudinal"), (None, "multigroup")}
    mg = [p for p in result.parts if p.design == "multigroup"][0]
    assert mg.covers == [SPS]  # 2 items: no factor of its own
    # the report shows exactly the longitudinal FIML model of the subscale
    direct = invariance(two_years, INST, "year", id="id", model=_model(PT), missing="fiml")
    part = [p for p in result.parts if p.scale == PT][0].result
    assert part.design == "longitudinal" and part.missing == "fiml"
    for level in ("configural", "metric", "scalar"):
        assert part.models[level].fit["chisq"] == pytest.approx(
            direct.models[level].fit["chisq"], rel=1e-9)
    assert result.sound == all(p.result.sound for p in result.parts)
    assert result.verdict.startswith("Same students followed across years: longitudinal "
                                     "invariance where the model allows")


def test_the_design_is_in_the_text_tables_and_dict(longitudinal):
    result, section = longitudinal
    text = " ".join(b[1] for b in section.blocks if isinstance(b, tuple) and b[0] == "p")
    assert "comparability is tested with longitudinal invariance" in text
    assert "Perspective Taking (longitudinal model)" in text
    assert ("Standing in the Patient's Shoes (multi-group model of the whole instrument)"
            in text)
    assert "2 items, too few for a factor of its own" in text
    fit = {t.name: t.data for t in section.tables}["invariance_fit"]
    assert list(fit.columns[:4]) == ["scale", "scale_name", "design", "model"]
    assert fit.groupby("scale")["design"].first().to_dict() == {
        PT: "longitudinal", CC: "longitudinal", "all": "multigroup"}
    assert len(fit) == 9  # three models per part
    comps = {t.name: t.data for t in section.tables}["invariance_comparisons"]
    assert set(comps["design"]) == {"longitudinal", "multigroup"} and len(comps) == 6
    out = result.to_dict()
    assert out["design"] == "longitudinal+multigroup"
    assert [p["invariance"]["design"] for p in out["parts"]] == [
        "longitudinal", "longitudinal", "multigroup"]


def test_without_repeated_ids_the_times_are_independent_groups(two_years):
    unique_ids = two_years.assign(id=[f"r{i}" for i in range(len(two_years))])
    for frame, id_col in ((two_years, None), (unique_ids, "id")):
        section = Section("comparability", "Comparability")
        result = comp_mod.comparability(_ctx(frame, id_col), section, [1, 2])
        assert result.design == "multigroup"
        assert [p.result.design for p in result.parts] == ["multigroup"]
        assert result.parts[0].covers == [PT, CC, SPS]
        assert result.verdict.startswith("Years fitted as independent groups: multi-group "
                                         "invariance")
        text = " ".join(b[1] for b in section.blocks if isinstance(b, tuple))
        assert "fitted as independent groups" in text and "longitudinal" not in text


def test_plan_states_why_a_subscale_is_not_longitudinal(two_years, monkeypatch):
    ctx = _ctx(two_years, "id")
    long, rest, repeated = comp_mod.plan(ctx, two_years, 2)
    assert repeated and long == [PT, CC] and list(rest) == [SPS]
    monkeypatch.setattr(_longitudinal, "MAX_WIDE", 18)  # PT: 10 x 2 = 20 > 18
    long, rest, _ = comp_mod.plan(ctx, two_years, 2)
    assert long == [CC] and "20 variables, more than the 18" in rest[PT]
    monkeypatch.undo()
    few = two_years[(two_years["year"] == 1) | two_years["id"].isin(
        two_years.loc[two_years["year"] == 2, "id"].unique()[:19])]
    long, rest, _ = comp_mod.plan(_ctx(few, "id"), few, 2)
    assert long == [CC] and "19 students in the smallest year for 20 variables" in rest[PT]


def test_a_failed_longitudinal_fit_falls_back_to_the_multigroup_model(two_years,
                                                                      monkeypatch):
    from empathy_metrics.errors import DegenerateDataError

    cfa = importlib.import_module("empathy_metrics.cfa")

    def failing(*args, **kwargs):
        if kwargs.get("id") is not None and str(kwargs.get("model", "")).startswith(CC):
            raise DegenerateDataError("the EM estimate is not positive definite")
        return invariance(*args, **kwargs)

    monkeypatch.setattr(cfa, "invariance", failing)
    section = Section("comparability", "Comparability")
    result = comp_mod.comparability(_ctx(two_years, "id"), section, [1, 2])
    mg = [p for p in result.parts if p.design == "multigroup"][0]
    assert mg.covers == [CC, SPS] and [p.scale for p in result.parts][:1] == [PT]
    assert any("Longitudinal invariance of Compassionate Care could not be run" in n
               for n in section.notes)
    assert "the longitudinal model could not be fitted" in " ".join(
        b[1] for b in section.blocks if isinstance(b, tuple))


def test_report_names_the_design_of_its_verdict(two_years):
    """The whole report, with and without the id column."""
    opts = {"mixed_scales": [], "parallel_iter": 5}
    with_id = build_report(two_years, "jse-s", time="year", id="id", min_cell=10,
                           options=opts)
    without = build_report(two_years.drop(columns=["id"]), "jse-s", time="year", min_cell=10,
                           options=opts)
    for rep, design, words in (
            (with_id, "longitudinal", "Same students followed across years: longitudinal "
                                      "invariance"),
            (without, "multigroup", "Years fitted as independent groups: multi-group "
                                    "invariance")):
        fit = {t.name: t.data for t in rep.tables}["invariance_fit"]
        assert design in set(fit["design"])
        findings = " ".join(rep.section("findings").bullets)
        assert words in findings
        assert words in rep.to_html()
    assert "longitudinal" not in set(
        {t.name: t.data for t in without.tables}["invariance_fit"]["design"])


def _sentences(section) -> list[str]:
    """Every sentence-bearing text of a report section (paragraphs, bullets, notes, cards)."""
    out = list(section.paragraphs) + list(section.bullets) + list(section.notes)
    for block in section.blocks:
        if isinstance(block, tuple):
            out += [str(x) for x in block[1:]]
    return out


def test_comparability_sentences_use_the_time_label_not_the_column_name(two_years):
    """A coded time column with a display label: the verdict paragraphs (per model and the
    conclusion) and the key-findings/summary sentences say the label, never the column."""
    coded = two_years.rename(columns={"year": "yr_code"})
    rep = build_report(coded, "jse-s", time="yr_code", id="id", min_cell=10,
                       options={"mixed_scales": [], "parallel_iter": 5},
                       labels={"columns": {"yr_code": "Training year"}})
    sentences = _sentences(rep.section("comparability"))
    verdicts = [s for s in sentences if "invariance holds" in s or "Invariance" in s]
    assert any("(longitudinal model): Scalar invariance holds across training years" in s
               or "(longitudinal model): Metric invariance" in s for s in verdicts)
    assert any("respondents followed across training years" in s for s in sentences)
    findings = " ".join(rep.section("findings").bullets)
    assert "Same students followed across training years: longitudinal invariance" in findings
    for name in ("comparability", "findings", "summary"):
        leaked = [s for s in _sentences(rep.section(name)) if "yr_code" in s]
        assert not leaked, (name, leaked[:2])


@pytest.mark.filterwarnings("ignore:.*factor covariance matrix")
def test_invariance_label_names_the_groups_in_the_verdict(two_years):
    model = _model(PT)
    plain = invariance(two_years, INST, "year", id="id", model=model, missing="fiml")
    worded = invariance(two_years, INST, "year", id="id", model=model, missing="fiml",
                        label="training year")
    assert "across 'year'" in plain.verdict and "'year'" not in worded.verdict
    assert worded.verdict == plain.verdict.replace("across 'year'", "across training years")
    mg = invariance(two_years, INST, "year", label="training year")
    assert "'year'" not in mg.verdict and "across training years" in mg.verdict
