"""Display labels (report/labels.py): column names and codes shown as words everywhere."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli
from empathy_metrics.errors import InputError
from empathy_metrics.report import build_report, builder
from empathy_metrics.report.labels import Labels, load_labels
from empathy_metrics.report.sections import section_specs

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"
LABELS = {"columns": {"year": "Training year", "gender": "Gender"},
          "values": {"gender": {1: "Women", 2: "Men", 3: "Another gender"},
                     "year": {1: "PGY-1", 2: "PGY-2", 3: "PGY-3", 4: "PGY-4"}}}


def test_lookups_and_defaults():
    lab = Labels.from_mapping(LABELS)
    assert lab.header("year") == "Training year" and lab.word("year") == "training year"
    assert lab.word("cohort") == "cohort" and lab.header("cohort") == "Cohort"
    assert Labels.from_mapping({"columns": {"pgy": "PGY level"}}).word("pgy") == "PGY level"
    # a code matches whether it is read as 1, 1.0 or "1"
    assert lab.value("gender", 1) == lab.value("gender", 1.0) == lab.value("gender", "1") \
        == "Women"
    # defaults: whole numbers without decimals, REDCap event names as words
    assert Labels().value("cohort", 2024.0) == 2024 and Labels().text("cohort", 2024.0) == "2024"
    assert Labels().value("e", "year_2_arm_1") == "Year 2"
    assert Labels().value("e", "baseline_arm_2") == "Baseline (arm 2)"
    assert Labels().value("g", "women") == "women" and Labels().text("g", None) == "—"


@pytest.mark.parametrize("bad, message", [
    ([1, 2], "must be a mapping"),
    ({"colums": {}}, "unknown key"),
    ({"columns": ["year"]}, "'columns' must map"),
    ({"values": {"gender": ["Women"]}}, "'values' must map"),
    ({"columns": {"year": ""}}, "label of column 'year'"),
])
def test_bad_labels_are_input_errors(bad, message):
    with pytest.raises(InputError, match=message):
        Labels.from_mapping(bad)


def test_labels_file(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("columns:\n  year: Training year\nvalues:\n  gender: {1: Women, 2: Men}\n")
    lab = load_labels(path)
    assert lab.column("year") == "Training year" and lab.value("gender", 2) == "Men"
    path.write_text("columns: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML") as info:
        load_labels(path)
    assert info.value.file == str(path)
    with pytest.raises(InputError, match="does not exist"):
        load_labels(tmp_path / "missing.yaml")


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    frame = pd.read_csv(DATA)
    frame["gender"] = frame["gender"].map({"women": 1, "men": 2, "nonbinary": 3})
    specs = [s for s in section_specs()
             if s.id in ("summary", "findings", "scores", "change", "items")]
    mp = pytest.MonkeyPatch()
    mp.setattr(builder, "section_specs", lambda: specs)
    try:
        rep = build_report(frame, "jse-s", time="year", id="id", group="gender",
                           labels=LABELS, progress=False)
    finally:
        mp.undo()
    out = tmp_path_factory.mktemp("labels") / "r.html"
    rep.write(out)
    return rep, out


def test_tables_csv_and_xlsx_show_the_labels(labelled):
    rep, out = labelled
    html = out.read_text(encoding="utf-8")
    scores = next(t for t in rep.tables if t.name == "scores_by_time")
    assert [c.label for c in scores.columns][1] == "Training year"
    rows = [r["cells"][1][0] for r in scores.html_rows()]
    assert set(rows) == {"PGY-1", "PGY-2", "PGY-3", "PGY-4"}
    csv = pd.read_csv(out.with_name("r_tables") / "scores_by_time.csv")
    assert "Training year" in csv.columns and "time" not in csv.columns
    assert set(csv["Training year"]) == {"PGY-1", "PGY-2", "PGY-3", "PGY-4"}
    groups = pd.read_csv(out.with_name("r_tables") / "group_stats.csv")
    assert "Gender" in groups.columns and set(groups["Gender"]) == {"Women", "Men",
                                                                     "Another gender"}
    items = pd.read_csv(out.with_name("r_tables") / "item_change.csv")
    assert list(items.columns) == ["item", "PGY-1", "PGY-2", "PGY-3", "PGY-4"]
    from openpyxl import load_workbook

    ws = load_workbook(out.with_name("r_tables.xlsx"), read_only=True)["group_stats"]
    head = list(next(ws.values))
    assert "Gender" in head and "Training year" in head
    assert ">Gender<" in html and "PGY-3" in html


def test_sentences_and_figures_show_the_labels(labelled):
    rep, _ = labelled
    findings = " ".join(rep.section("findings").bullets)
    assert "students answering in PGY-3 was" in findings
    assert "year 3" not in findings and "'1' group" not in findings
    assert "'1'" not in findings and "'2'" not in findings
    assert "training year" in " ".join(b[1] for b in rep.section("findings").blocks
                                      if isinstance(b, tuple))
    assert rep.section("scores").title == "Scores by training year"
    for fig in rep.figures:
        svg = base64.b64decode(fig.uri.split(",", 1)[1]).decode()
        if fig.name in ("summary", "trend_total", "distribution_total", "histogram_total"):
            assert "PGY-2" in svg, fig.name
        assert ">year<" not in svg and "year 2" not in svg, fig.name
    assert "PGY" in rep.subtitle


def test_cli_labels_and_a_bad_labels_file(tmp_path):
    frame = pd.read_csv(DATA)
    data = tmp_path / "survey.csv"
    frame[frame["year"] <= 2].to_csv(data, index=False)
    bad = tmp_path / "labels.yaml"
    bad.write_text("columns: {year: ''}\n")
    out = tmp_path / "r.html"
    args = ["report", str(data), "-i", "jse-s", "--time", "year", "--labels", str(bad),
            "-o", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "labels.yaml" in res.output and "Traceback" not in res.output
    assert not out.exists()
    bad.write_text("columns: {year: Training year}\n")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "Training year" in out.read_text(encoding="utf-8")


def test_a_time_column_named_like_a_statistic_stays_distinct(monkeypatch):
    """A Qualtrics time column "Q3" beside the quartiles: every header is distinct."""
    specs = [s for s in section_specs() if s.id == "scores"]
    monkeypatch.setattr(builder, "section_specs", lambda: specs)
    frame = pd.read_csv(DATA).rename(columns={"year": "Q3"})
    rep = build_report(frame, "jse-s", time="Q3", progress=False)
    for table in rep.tables:
        heads = [c.label for c in table.columns]
        assert len(heads) == len(set(heads)), (table.name, heads)


def test_who_answered_section_speaks_in_labels(monkeypatch):
    """The attrition section (sentences, table headers, model terms) uses the labels, never
    the raw column names or codes."""
    data = Path(__file__).parent / "reference" / "data" / "attrition_sim.csv"
    frame = pd.read_csv(data).rename(columns={"year": "yr_code", "cohort": "entry_yr"})
    specs = [s for s in section_specs() if s.id in ("change", "attrition")]
    monkeypatch.setattr(builder, "section_specs", lambda: specs)
    labels = {"columns": {"yr_code": "Training year", "entry_yr": "Entering class"},
              "values": {"yr_code": {1: "PGY-1", 2: "PGY-2", 3: "PGY-3", 4: "PGY-4"}}}
    rep = build_report(frame, "jse-s", time="yr_code", id="id", cohort="entry_yr",
                       min_cell=10, labels=labels, progress=False)
    sec = rep.section("attrition")
    words = " ".join(b[1] for b in sec.blocks if isinstance(b, tuple) and b[0] == "p")
    assert "yr_code" not in words and "entry_yr" not in words
    assert "training year" in words and "entering class" in words and "PGY-1" in words
    heads = {t.name: [c.label for c in t.columns] for t in sec.tables}
    assert heads["attrition"][0] == "Entering class"
    assert "Training year" in heads["change_by_design"]
    terms = [r["cells"][0][0] for r in next(t for t in sec.tables
                                            if t.name == "cohort_sequential").html_rows()]
    assert "PGY-3" in terms and "Entering class 2022" in terms
    assert not any("[" in t for t in terms if t != "Intercept")
