"""Exports as they come (issue 8 item 5): header variants, Qualtrics wordings and unfinished
responses, REDCap values on the first event only, workbooks with several sheets,
duplicates within a time point."""

from __future__ import annotations

import json

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli
from empathy_metrics.errors import ColumnNameWarning, InputError
from empathy_metrics.instruments import load_instrument
from empathy_metrics.io import items_frame, read_responses, resolve_column
from empathy_metrics.scoring import score

INST = load_instrument("jse-s")
ITEMS = INST.item_ids
#: Qualtrics' stock 7-point agreement wordings, code 1..7
QUALTRICS_7 = ["Strongly disagree", "Disagree", "Somewhat disagree",
               "Neither agree nor disagree", "Somewhat agree", "Agree", "Strongly agree"]


def run(args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _codes(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 8, size=(n, len(ITEMS)))


def _panel(n_students=12, years=(1, 2, 3), seed=1) -> pd.DataFrame:
    rows = []
    codes = _codes(n_students * len(years), seed)
    k = 0
    for s in range(n_students):
        for y in years:
            rows.append({"student_id": f"S{s:03d}", "year": y,
                         "gender": "women" if s % 2 else "men", "cohort": 2022 + s % 2,
                         **dict(zip(ITEMS, codes[k].tolist(), strict=True))})
            k += 1
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- headers
def test_padded_and_upper_case_headers_are_found(tmp_path):
    frame = _panel()
    frame = frame.rename(columns={"student_id": " student_id ", "year": "YEAR"})
    path = tmp_path / "padded.csv"
    frame.to_csv(path, index=False)
    read = read_responses(path)
    assert "student_id" in read.columns  # trimmed on read
    assert resolve_column(read.columns, "year") == "YEAR"
    res = run(["trend", path, "-i", "jse-s", "--time", "year", "--id", "STUDENT_ID",
               "--format", "json"])
    assert res.exit_code == 0, res.output
    assert [r["time"] for r in json.loads(res.stdout)["scales"]["total"]["by_time"]] == [1, 2, 3]
    with pytest.warns(ColumnNameWarning, match="'Student_ID' not found as given; using the "
                      "column 'student_id'"):
        result = score(read, INST, id_col="Student_ID")
    assert result.id_col == "student_id"


def test_ambiguous_case_is_refused_naming_both():
    with pytest.raises(InputError, match="matches several columns.*'Year', 'YEAR'"):
        resolve_column(["Year", "YEAR", "x"], "year", role="time", source="f.csv")
    with pytest.raises(InputError, match="time column 'wave' not found.*columns are"):
        resolve_column(["Year"], "wave", role="time")


def test_python_trend_and_report_resolve_names_as_the_cli_does():
    """One helper (io.resolve_columns) behind the CLI options and the Python arguments:
    a warning names the column used; an ambiguous name is refused naming both."""
    from empathy_metrics.cohorts import trend
    from empathy_metrics.errors import ColumnNameWarning
    from empathy_metrics.report import build_report

    frame = _panel().rename(columns={"year": "YEAR"})
    with pytest.warns(ColumnNameWarning) as caught:
        tr = trend(frame, INST, time=" year ", id="STUDENT_ID", group="Gender", mixed=False)
    texts = " ".join(str(w.message) for w in caught)
    assert "using the column 'YEAR'" in texts and "using the column 'student_id'" in texts
    assert "using the column 'gender'" in texts
    assert tr.time == "YEAR" and tr.id == "student_id" and tr.group == "gender"
    assert [r["time"] for r in tr.to_dict()["scales"]["total"]["by_time"]] == [1, 2, 3]
    exact = trend(frame, INST, time="YEAR", id="student_id", group="gender", mixed=False)
    pd.testing.assert_frame_equal(tr.by_time, exact.by_time)
    with pytest.warns(ColumnNameWarning, match="using the column 'YEAR'"):
        rep = build_report(frame, INST, time="year", min_cell=5, progress=False,
                           options={"invariance": False, "parallel_iter": 2,
                                    "mixed_scales": []})
    assert rep.section("scores").unavailable is None
    both = frame.assign(Year=frame["YEAR"])
    with pytest.raises(InputError, match="several columns.*'YEAR', 'Year'"):
        trend(both, INST, time="year")
    with pytest.raises(InputError, match="several columns.*'YEAR', 'Year'"):
        build_report(both, INST, time="year", progress=False)
    with pytest.raises(InputError, match="group column 'sex' not found"):
        trend(frame, INST, time="YEAR", group="sex")


def test_cli_warns_naming_the_resolved_column(tmp_path):
    path = tmp_path / "upper.csv"
    _panel().rename(columns={"year": "YEAR"}).to_csv(path, index=False)
    res = run(["trend", path, "-i", "jse-s", "--time", "year", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "time column 'year' not found as given; using the column 'YEAR'" in res.stderr


# ---------------------------------------------------------------------------- Qualtrics
def _qualtrics(path, answers: list[list[str]], finished: list[int]):
    meta = ["StartDate", "Status", "Progress", "Finished", "ResponseId"]
    header = meta + ITEMS
    text_row = ["Start Date", "Response Type", "Progress", "Finished", "Response ID"] + [
        f"Item {i}" for i in ITEMS]
    import_row = [json.dumps({"ImportId": c}) for c in
                  ["startDate", "status", "progress", "finished", "_recordId"]] + [
        json.dumps({"ImportId": f"QID{j}"}) for j in range(len(ITEMS))]
    rows = [["2026-05-01", "IP Address", 100 if f else 40, f, f"R_{k}", *a]
            for k, (a, f) in enumerate(zip(answers, finished, strict=True))]
    pd.DataFrame([text_row, import_row, *rows], columns=header).to_csv(path, index=False)
    return path


def test_qualtrics_wordings_and_unfinished_responses_are_named(tmp_path):
    codes = _codes(14, 3)
    answers = [[QUALTRICS_7[c - 1] for c in row] for row in codes]
    answers[0][0] = "  neither AGREE nor disagree "
    finished = [1] * 11 + [0] * 3
    path = _qualtrics(tmp_path / "q.csv", answers, finished)
    frame = read_responses(path)
    assert frame.attrs["unfinished"] == {"n": 3, "rows": [15, 16, 17], "excluded": False}
    got = items_frame(frame, INST).to_numpy()
    expected = codes.astype(float)
    expected[0, 0] = 4
    np.testing.assert_array_equal(got, expected)
    res = run(["validate", path, "-i", "jse-s"])
    assert "Unfinished Qualtrics responses: 3, INCLUDED (rows 15, 16, 17)" in res.output
    res = run(["validate", path, "-i", "jse-s", "--exclude-unfinished", "--format", "json"])
    q = json.loads(res.stdout)
    assert q["n"] == 11 and q["export"]["unfinished"]["excluded"] is True
    assert q["rows_not_read"] == {"unfinished": 3}


def test_unknown_wording_names_row_column_and_label_aliases():
    frame = pd.DataFrame({i: ["Agree"] for i in ITEMS})
    frame.loc[0, "JSE3"] = "Kind of agree"
    # an in-memory frame: the index label names the row
    with pytest.raises(InputError, match="index 0, column 'JSE3'.*label_aliases"):
        items_frame(frame, INST)


# ---------------------------------------------------------------------------- REDCap
def _redcap(tmp_path):
    frame = _panel(n_students=10)
    frame = frame.rename(columns={"student_id": "record_id"})
    frame.insert(1, "redcap_event_name", [f"year_{y}_arm_1" for y in frame["year"]])
    later = frame["year"] > 1
    frame.loc[later, ["gender", "cohort"]] = None  # demographics on the first event only
    path = tmp_path / "redcap.csv"
    frame.to_csv(path, index=False)
    return path


def test_redcap_first_event_values_are_carried_with_a_note(tmp_path):
    path = _redcap(tmp_path)
    assert "2022.0" in path.read_text()  # the export holds floats
    assert "carried" not in read_responses(path).attrs  # not without the instrument
    frame = read_responses(path, instrument=INST)
    assert frame.attrs["carried"] == {"gender": 20, "cohort": 20}
    assert frame["cohort"].dtype == np.int64 and frame["gender"].notna().all()
    assert frame[ITEMS].isna().sum().sum() == 0 and "JSE1" not in frame.attrs["carried"]
    res = run(["validate", path, "-i", "jse-s", "--id-col", "record_id", "--time", "year"])
    assert "'gender' recorded on the first event only; carried to 20" in res.output
    res = run(["trend", path, "-i", "jse-s", "--time", "year", "--group", "gender",
               "--cohort", "cohort", "--format", "json", "--min-cell", "3"])
    assert res.exit_code == 0, res.output
    assert "2022.0" not in res.stdout
    total = json.loads(res.stdout)["scales"]["total"]
    assert {r["time"] for r in total["groups"] if r["n"]} == {1, 2, 3}
    assert {r["cohort"] for r in total["cohorts"]} == {2022, 2023}


def test_answers_are_never_carried(tmp_path):
    frame = _panel(n_students=4, years=(1, 2))
    frame = frame.rename(columns={"student_id": "record_id"})
    frame.insert(1, "redcap_event_name", "e")
    frame.loc[frame["year"] == 2, "JSE1"] = None  # skipped at year 2, answered at year 1
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    read = read_responses(path, instrument="jse-s")
    assert "JSE1" not in read.attrs.get("carried", {})
    assert read.loc[read["year"] == 2, "JSE1"].isna().all()


# ---------------------------------------------------------------------------- sheets
@pytest.fixture
def yearly_book(tmp_path):
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb["Notes"].append(["Survey notes, do not analyse"])
    panel = _panel(n_students=8, years=(1, 2))
    for name, year in (("2023", 1), ("2024", 2)):
        ws = wb.create_sheet(name)
        part = panel[panel["year"] == year]
        ws.append(list(part.columns))
        for row in part.itertuples(index=False):
            ws.append(list(row))
    wb.save(path)
    return path, panel


def test_several_sheets_refused_then_by_name_number_or_all(yearly_book):
    path, panel = yearly_book
    res = run(["validate", path, "-i", "jse-s"])
    assert res.exit_code == 2
    assert "3 sheets with data ('Notes', '2023', '2024')" in res.output
    assert "--sheet" in res.output and "Traceback" not in res.output
    by_name = read_responses(path, sheet="2024")  # the sheet named 2024, not number 2024
    assert by_name.attrs["sheet"] == "2024" and (by_name["year"] == 2).all()
    assert read_responses(path, sheet="1").attrs["sheet"] == "2023"  # then a number
    stacked = read_responses(path, sheet="all")
    assert stacked["sheet"].tolist() == ["2023"] * 8 + ["2024"] * 8
    assert stacked.attrs["sheets_skipped"] == ["Notes"]
    np.testing.assert_array_equal(stacked[ITEMS].to_numpy(), panel[ITEMS].to_numpy()[
        np.argsort(panel["year"].to_numpy(), kind="stable")])
    res = run(["validate", path, "-i", "jse-s", "--sheet", "all"])
    assert "Sheets read (stacked): 2023, 2024" in res.output
    assert "Sheets left out (other columns): Notes" in res.output


def test_stacked_sheets_name_the_sheet_and_its_row(yearly_book, tmp_path):
    path, _ = yearly_book
    wb = openpyxl.load_workbook(path)
    wb["2024"]["E4"] = "sometimes"
    wb.save(path)
    frame = read_responses(path, sheet="all")
    with pytest.raises(InputError) as info:
        items_frame(frame, INST)
    assert "book.xlsx (sheet '2024'), row 4, column 'JSE1'" in str(info.value)


# ---------------------------------------------------------------------------- duplicates
def test_validate_time_flags_duplicates_within_a_time_point_only(tmp_path):
    frame = _panel(n_students=5, years=(1, 2))
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)  # S000 twice in year 1
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    res = run(["validate", path, "-i", "jse-s", "--id-col", "student_id", "--format", "json"])
    assert json.loads(res.stdout)["flags"]["duplicate_id"] == 11  # every repeated student
    res = run(["validate", path, "-i", "jse-s", "--id-col", "student_id", "--time", "YEAR",
               "--format", "json"])
    q = json.loads(res.stdout)
    assert q["flags"]["duplicate_id"] == 2 and q["flagged_rows"]["duplicate_id"] == [2, 12]


def test_label_aliases_in_an_instrument_yaml(tmp_path):
    from empathy_metrics.errors import InstrumentError
    from empathy_metrics.instruments import load_instrument as load

    text = ("id: mine\nname: Mine\nresponse_scale:\n  min: 1\n  max: 3\n"
            "  labels: {1: Never, 2: Maybe, 3: Always}\n"
            "  label_aliases: {'Fully agree': 3, 'Nah': 1}\n"
            "items: [{id: A1}, {id: A2}]\nscoring: {method: sum}\n")
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    inst = load(path)
    frame = pd.DataFrame({"A1": ["fully  AGREE", "nah"], "A2": ["Maybe", 2]})
    np.testing.assert_array_equal(items_frame(frame, inst).to_numpy(), [[3, 2], [1, 2]])
    path.write_text(text.replace("'Nah': 1", "'Maybe': 1"))
    with pytest.raises(InstrumentError, match="label_aliases.Maybe.*already the label of code 2"):
        load(path)
    path.write_text(text.replace("'Nah': 1", "'Nah': 9"))
    with pytest.raises(InstrumentError, match="outside the response scale 1..3"):
        load(path)
