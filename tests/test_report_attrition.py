"""The report's "Who answered" section (report/sections/attrition.py): attrition, change from
different vs the same students, the cohort-sequential model."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from empathy_metrics.report import build_report

DATA = Path(__file__).parent / "reference" / "data" / "attrition_sim.csv"


@pytest.fixture(scope="module")
def report():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_report(pd.read_csv(DATA), "jse-s", time="year", id="id", cohort="cohort",
                            min_cell=10)


@pytest.fixture(scope="module")
def section(report):
    return report.section("attrition")


@pytest.fixture(scope="module")
def mixed_table(report):
    return next(t for t in report.section("change").tables if t.name == "mixed_model").data


def _text(section) -> str:
    return " ".join(b[1] for b in section.blocks if isinstance(b, tuple) and b[0] == "p")


def _table(section, name):
    return next(t for t in section.tables if t.name == name)


def test_section_marks_same_and_different_students(section):
    text = _text(section)
    assert "never a decline of the same students" in text
    assert "likelihood-ratio test χ²(3) = 3.97" in text
    by_design = _table(section, "change_by_design").data
    assert set(by_design["design"]) == {"same students", "different students"}
    assert set(by_design["scale"]) == {"total", "perspective_taking", "compassionate_care",
                                       "standing_in_patients_shoes"}  # CSV: every scale
    cs = _table(section, "cohort_sequential").data.set_index("term")
    assert cs.loc["time[3]", "design"] == "same students"
    assert cs.loc["cohort[2022]", "design"] == "different students"
    assert cs.loc["time[3]", "estimate"] == pytest.approx(-4.09698437210465, rel=1e-4)


def test_change_by_design_has_the_mixed_model_rows(section, mixed_table):
    """The three estimates the section's text promises: all available, mixed model (the
    report's mixed model, fitted once on the shown times), completers only."""
    se = _table(section, "change_by_design").data
    total = se[se["scale"] == "total"]
    assert list(total[total["time"] == 3]["estimate"]) == ["all available", "mixed model",
                                                         "completers only"]
    mm = total[total["estimate"] == "mixed model"].set_index("time")
    for t in (2, 3, 4):
        term = mixed_table[(mixed_table["scale"] == "total")
                           & (mixed_table["term"] == f"time[{t}]")].iloc[0]
        assert mm.loc[t, "diff"] == term["estimate"]
        assert (mm.loc[t, "ci_low"], mm.loc[t, "ci_high"]) == (term["ci_low"], term["ci_high"])
        assert mm.loc[t, "design"] == "same students"


def test_attrition_table_and_suppression(section):
    at = _table(section, "attrition")
    total = at.data[at.data["scale"] == "total"].set_index("cohort")
    assert total.loc[2019, "n_not_seen"] == 10
    assert total.loc[2019, "diff"] == pytest.approx(-10.187096774193549, rel=1e-12)
    shown = [r for r in at.html_rows() if not r["suppressed"]]
    assert any("all cohorts" in c[0] for r in shown for c in r["cells"][:1])
    # completers at year 4: 4 non-completers would be revealed, so the row is suppressed
    rows = _table(section, "change_by_design").html_rows()
    assert sum(r["suppressed"] for r in rows) == 1


def test_without_ids_the_section_says_why():
    data = pd.read_csv(DATA).drop(columns=["id"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = build_report(data[data.year <= 2], "jse-s", time="year", min_cell=10)
    sec = rep.section("attrition")
    assert "cannot be shown" in _text(sec)
    assert not sec.tables
    assert re.search("never a decline of the same students", _text(sec))
