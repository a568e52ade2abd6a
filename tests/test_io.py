"""Survey readers (`empathy_metrics.io`): every format, survey-tool exports, bad input.

All data files are written by the tests themselves into ``tmp_path``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from empathy_metrics.errors import InputError
from empathy_metrics.instruments import instrument_from_dict
from empathy_metrics.io import items_frame, read_column_map, read_responses, source_rows

ITEMS = ["T1", "T2", "T3", "T4"]
LABELS = {1: "Strongly disagree", 2: "Disagree", 3: "Neutral", 4: "Agree", 5: "Strongly agree"}


@pytest.fixture(scope="module")
def inst():
    return instrument_from_dict({
        "id": "tiny", "name": "Tiny test scale", "citation": "test", "license": "test",
        "response_scale": {"min": 1, "max": 5, "labels": LABELS,
                           "missing_labels": ["Does not apply"]},
        "items": [{"id": "T1", "reverse": True}, {"id": "T2"}, {"id": "T3"}, {"id": "T4"}],
        "total": True,
        "scoring": {"method": "sum", "max_missing": 1},
    })


@pytest.fixture
def base():
    """Ids, a text column with a non-ASCII name, item codes 1..5 with missing answers."""
    return pd.DataFrame({
        "id": [101, 102, 103, 104, 105],
        "name": ["Zoë", "Ana", "Jürgen", "Li", "Noël"],
        "T1": [1, 2, np.nan, 4, 5],
        "T2": [5, 4, 3, 2, 1],
        "T3": [3, np.nan, 3, 3, 2],
        "T4": [2, 2, 5, 1, 4],
    })


def _items(base: pd.DataFrame) -> pd.DataFrame:
    return base[ITEMS].astype(float)


def _write(base: pd.DataFrame, path: Path) -> Path:
    kind = path.suffix
    if kind == ".csv":
        base.to_csv(path, index=False)
    elif kind in (".tsv", ".tab"):
        base.to_csv(path, index=False, sep="\t")
    elif kind == ".txt":
        base.to_csv(path, index=False, sep=";")
    elif kind == ".xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(list(base.columns))
        for row in base.itertuples(index=False):
            ws.append([None if isinstance(v, float) and np.isnan(v) else
                       (v.item() if hasattr(v, "item") else v) for v in row])
        wb.save(path)
    elif kind == ".sav":
        pyreadstat.write_sav(base, str(path))
    elif kind == ".parquet":
        base.to_parquet(path)
    return path


def _stamp(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), os.stat(path).st_mtime_ns


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("suffix, file_format", [
    (".csv", "csv"), (".tsv", "tsv"), (".tab", "tsv"), (".txt", "csv"),
    (".xlsx", "xlsx"), (".sav", "sav"), (".parquet", "parquet"),
])
def test_each_format_round_trips_to_the_same_numeric_frame(tmp_path, base, inst, suffix,
                                                           file_format):
    path = _write(base, tmp_path / f"data{suffix}")
    before = _stamp(path)
    frame = read_responses(path)
    assert _stamp(path) == before  # the input file is never modified
    assert list(frame.columns) == list(base.columns)
    pd.testing.assert_frame_equal(items_frame(frame, inst), _items(base))
    assert frame["id"].astype(int).tolist() == base["id"].tolist()
    assert frame["name"].tolist() == base["name"].tolist()
    assert frame.attrs["source"] == str(path)
    assert frame.attrs["file_format"] == file_format
    assert frame.attrs["format"] == file_format
    assert frame.attrs["first_row"] == (1 if suffix in (".sav", ".parquet") else 2)
    assert frame.attrs["exclusions"] == {}


def test_format_argument_overrides_the_suffix(tmp_path, base, inst):
    path = tmp_path / "export.dat"
    base.to_csv(path, index=False, sep="\t")
    frame = read_responses(path, format="tsv")
    pd.testing.assert_frame_equal(items_frame(frame, inst), _items(base))
    xlsx_named_csv = _write(base, tmp_path / "book.xlsx").rename(tmp_path / "book.csv")
    frame = read_responses(xlsx_named_csv, format="excel")
    assert frame.attrs["file_format"] == "xlsx"
    pd.testing.assert_frame_equal(items_frame(frame, inst), _items(base))


def test_semicolon_csv_is_sniffed(tmp_path, base, inst):
    path = tmp_path / "european.csv"
    base.to_csv(path, index=False, sep=";")
    frame = read_responses(path)
    assert frame.attrs["delimiter"] == ";"
    pd.testing.assert_frame_equal(items_frame(frame, inst), _items(base))


def test_excel_sheet_by_name_and_index(tmp_path, inst):
    path = tmp_path / "two.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "notes"
    ws.append(["just", "notes"])
    ws.append(["x", "y"])
    ws2 = wb.create_sheet("data")
    for row in [["id", *ITEMS], [1, 1, 2, 3, 4], [2, "  agree ", "", 5, 1]]:
        ws2.append(row)
    wb.save(path)
    by_name = read_responses(path, sheet="data")
    by_index = read_responses(path, sheet=1)
    pd.testing.assert_frame_equal(by_name, by_index)
    assert by_name.attrs["sheet"] == "data"
    codes = items_frame(by_name, inst)
    np.testing.assert_array_equal(codes.to_numpy(),
                                  [[1, 2, 3, 4], [4, np.nan, 5, 1]])
    with pytest.raises(InputError, match="2 sheets with data \\('notes', 'data'\\).*--sheet"):
        read_responses(path)  # never the first sheet silently
    with pytest.raises(InputError, match="no sheet 'dat'.*0: 'notes', 1: 'data'"):
        read_responses(path, sheet="dat")
    with pytest.raises(InputError, match="no sheet number 2"):
        read_responses(path, sheet=2)


def test_blank_lines_are_dropped_but_rows_keep_their_file_numbers(tmp_path, inst):
    path = tmp_path / "blank.csv"
    path.write_text("id,T1,T2,T3,T4\n1,1,2,3,4\n\n2,2,2,2,2\n,,,,\n3,5,5,5,bad\n\n")
    frame = read_responses(path)
    assert frame["id"].tolist() == [1, 2, 3]
    assert frame["id"].dtype == np.int64  # blank lines do not turn ids into floats
    assert frame.attrs["exclusions"] == {"empty row": 2}
    assert source_rows(frame).tolist() == [2, 4, 6]
    with pytest.raises(InputError) as err:
        items_frame(frame, inst)
    assert (err.value.row, err.value.column) == (6, "T4")


def test_source_rows_follow_filtering_and_sorting(tmp_path, base):
    path = _write(base, tmp_path / "data.csv")
    frame = read_responses(path)
    assert source_rows(frame).tolist() == [2, 3, 4, 5, 6]
    sub = frame[frame["T2"] < 3].sort_values("T4", ascending=False)
    assert source_rows(sub).tolist() == [6, 5]
    # an index set by the user is not a row number: positions are used instead
    assert source_rows(frame.set_index("id")).tolist() == [2, 3, 4, 5, 6]


# ---------------------------------------------------------------------------- encodings
@pytest.mark.parametrize("encoding, bom", [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("latin-1", b""),
    ("utf-16", b""),
])
def test_encodings_simply_work(tmp_path, inst, encoding, bom):
    text = "Nom,T1,T2,T3,T4\nZoë,1,2,3,4\nFrançois “Fran”,5,4,3,2\n"
    if encoding == "latin-1":  # no curly quotes in latin-1; a C1 byte cp1252 cannot decode
        text = "Nom,T1,T2,T3,T4\nZoë,1,2,3,4\nFrançois\x81,5,4,3,2\n"
    path = tmp_path / "enc.csv"
    path.write_bytes(bom + text.encode(encoding))
    frame = read_responses(path)
    assert list(frame.columns) == ["Nom", *ITEMS]  # no BOM glued to the first name
    assert frame["Nom"].tolist() == text.splitlines()[1].split(",")[:1] + \
        text.splitlines()[2].split(",")[:1]
    np.testing.assert_array_equal(items_frame(frame, inst).to_numpy(),
                                  [[1, 2, 3, 4], [5, 4, 3, 2]])


def test_cp1252_byte_after_the_sniffed_sample_falls_back(tmp_path, inst):
    """A long UTF-8-clean head and a cp1252 byte at the end: the reader retries."""
    lines = ["id,T1,T2,T3,T4"] + [f"{i},1,2,3,4" for i in range(150000)] + ["Zoë,5,5,5,5"]
    path = tmp_path / "late.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    assert path.stat().st_size > (1 << 20)
    frame = read_responses(path)
    assert frame.attrs["encoding"] == "cp1252"
    assert frame["id"].iloc[-1] == "Zoë"


def test_explicit_encoding_is_used(tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes("name,T1\nZoë,1\n".encode("cp1252"))
    assert read_responses(path, encoding="cp1252")["name"].tolist() == ["Zoë"]
    with pytest.raises(InputError, match="cannot be decoded as utf-8") as err:
        read_responses(path, encoding="utf-8")
    assert err.value.file == str(path)


# ---------------------------------------------------------------------------- Qualtrics
QUALTRICS_NAMES = ["StartDate", "EndDate", "Status", "IPAddress", "Progress",
                   "Duration (in seconds)", "Finished", "RecordedDate", "ResponseId",
                   "RecipientLastName", "RecipientFirstName", "RecipientEmail",
                   "ExternalReference", "LocationLatitude", "LocationLongitude",
                   "DistributionChannel", "UserLanguage", "Q1_1", "Q1_2", "Q1_3", "Q1_4"]


def _qualtrics_rows(status_text: bool = True, quote: str = '"') -> list[list[str]]:
    q = quote
    meta_ids = ["startDate", "endDate", "status", "ipAddress", "progress", "duration",
                "finished", "recordedDate", "_recordId", "recipientLastName",
                "recipientFirstName", "recipientEmail", "externalDataReference",
                "locationLatitude", "locationLongitude", "distributionChannel",
                "userLanguage", "QID1_1", "QID1_2", "QID1_3", "QID1_4"]
    texts = ["Start Date", "End Date", "Response Type", "IP Address", "Progress",
             "Duration (in seconds)", "Finished", "Recorded Date", "Response ID",
             "Recipient Last Name", "Recipient First Name", "Recipient Email",
             "External Data Reference", "Location Latitude", "Location Longitude",
             "Distribution Channel", "User Language",
             "How much do you agree?\n- I understand, others", "... - B", "... - C", "... - D"]
    row3 = ["{" + f"{q}ImportId{q}:{q}{i}{q}" + "}" for i in meta_ids]
    normal, preview = ("IP Address", "Survey Preview") if status_text else ("0", "1")
    finished_true, finished_false = ("True", "False") if status_text else ("1", "0")

    def resp(rid, status, progress, finished, channel, answers):
        return ["2024-05-01 10:00:00", "2024-05-01 10:05:00", status, "10.0.0.1", progress,
                "300", finished, "2024-05-01 10:05:01", rid, "Doe", "Jane", "j@x.org",
                f"S{rid[-1]}", "51.5", "-0.1", channel, "EN", *answers]

    data = [
        resp("R_1", normal, "100", finished_true, "anonymous", ["1", "2", "3", "4"]),
        resp("R_2", preview, "100", finished_true, "preview", ["5", "5", "5", "5"]),
        resp("R_3", normal, "40", finished_false, "anonymous", ["2", "", "", ""]),
        resp("R_4", normal, "100", finished_true, "anonymous",
             ["Strongly agree", " neutral ", "DISAGREE", "4"]),
        resp("R_5", normal, "100", finished_true, "anonymous", ["3", "3", "junk", "3"]),
    ]
    return [QUALTRICS_NAMES, texts, row3, *data]


def _write_csv_rows(rows, path: Path, sep: str = ",", encoding: str = "utf-8-sig") -> Path:
    import csv

    with open(path, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=sep).writerows(rows)
    return path


@pytest.fixture
def qualtrics_csv(tmp_path) -> Path:
    return _write_csv_rows(_qualtrics_rows(), tmp_path / "qualtrics.csv")


@pytest.fixture
def qmap():
    return {"T1": "Q1_1", "T2": "Q1_2", "T3": "Q1_3", "T4": "Q1_4"}


def test_qualtrics_three_row_header_previews_excluded_by_default(qualtrics_csv, inst, qmap):
    before = _stamp(qualtrics_csv)
    frame = read_responses(qualtrics_csv)
    assert _stamp(qualtrics_csv) == before
    assert frame.attrs["format"] == "qualtrics"
    assert frame.attrs["qualtrics_header"] == "3-row"
    assert frame.attrs["first_row"] == 4
    assert frame["ResponseId"].tolist() == ["R_1", "R_3", "R_4", "R_5"]
    assert frame.attrs["exclusions"] == {"survey preview": 1}
    # identifying columns are dropped, the external reference (a study id) is kept
    for col in ("IPAddress", "RecipientEmail", "RecipientLastName", "LocationLatitude"):
        assert col not in frame.columns
    assert "ExternalReference" in frame.columns
    # rows 4..8 in a spreadsheet: R_5 is on row 8 even though R_2 (row 5) was dropped
    assert source_rows(frame).tolist() == [4, 6, 7, 8]
    with pytest.raises(InputError) as err:
        items_frame(frame, inst, columns=qmap)
    assert (err.value.file, err.value.row, err.value.column) == (str(qualtrics_csv), 8, "Q1_3")
    assert "'junk'" in str(err.value) and "row 8" in str(err.value)


def test_qualtrics_unfinished_and_text_answers(qualtrics_csv, inst, qmap):
    frame = read_responses(qualtrics_csv, exclude_unfinished=True)
    assert frame["ResponseId"].tolist() == ["R_1", "R_4", "R_5"]
    assert frame.attrs["exclusions"] == {"survey preview": 1, "unfinished": 1}
    codes = items_frame(frame.iloc[:2], inst, columns=qmap)
    np.testing.assert_array_equal(codes.to_numpy(), [[1, 2, 3, 4], [5, 3, 2, 4]])


def test_qualtrics_everything_kept_on_request(qualtrics_csv):
    frame = read_responses(qualtrics_csv, exclude_previews=False, keep_identifying=True)
    assert len(frame) == 5 and frame.attrs["exclusions"] == {}
    assert "IPAddress" in frame.columns
    assert source_rows(frame).tolist() == [4, 5, 6, 7, 8]


def test_qualtrics_numeric_codes_single_quotes_and_tsv(tmp_path):
    rows = _qualtrics_rows(status_text=False, quote="'")
    path = _write_csv_rows(rows, tmp_path / "q.tsv", sep="\t", encoding="utf-16")
    frame = read_responses(path, exclude_unfinished=True)
    assert frame.attrs["format"] == "qualtrics" and frame.attrs["encoding"] == "utf-16"
    assert frame["ResponseId"].tolist() == ["R_1", "R_4", "R_5"]
    assert frame.attrs["exclusions"] == {"survey preview": 1, "unfinished": 1}


def test_qualtrics_xlsx_export(tmp_path, inst, qmap):
    path = tmp_path / "q.xlsx"
    wb = openpyxl.Workbook()
    for row in _qualtrics_rows():
        wb.active.append(row)
    wb.save(path)
    frame = read_responses(path)
    assert frame.attrs["format"] == "qualtrics" and frame.attrs["first_row"] == 4
    assert frame.attrs["exclusions"] == {"survey preview": 1}
    with pytest.raises(InputError) as err:
        items_frame(frame, inst, columns=qmap)
    assert (err.value.row, err.value.column) == (8, "Q1_3")


def test_qualtrics_legacy_two_row_header(tmp_path, inst):
    header = [f"V{i}" for i in range(1, 11)] + ["Q1", "Q2", "Q3", "Q4", ""]
    names = ["ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress",
             "IPAddress", "Status", "StartDate", "EndDate", "Finished",
             "I understand", "B", "C", "D", ""]

    def resp(rid, status, finished, answers):
        return [rid, "Default", "Doe, Jane", "", "j@x.org", "10.0.0.1", status,
                "2015-01-01", "2015-01-01", finished, *answers, ""]

    rows = [header, names,
            resp("R_a", "0", "1", ["1", "2", "3", "4"]),
            resp("R_b", "1", "1", ["5", "5", "5", "5"]),
            resp("R_c", "0", "0", ["2", "2", "2", "x"])]
    path = _write_csv_rows(rows, tmp_path / "legacy.csv")
    frame = read_responses(path)
    assert frame.attrs["qualtrics_header"] == "legacy" and frame.attrs["first_row"] == 3
    assert list(frame.columns) == ["ResponseID", "ResponseSet", "ExternalDataReference",
                                   "Status", "StartDate", "EndDate", "Finished",
                                   "Q1", "Q2", "Q3", "Q4"]  # identifying + empty column gone
    assert frame["ResponseID"].tolist() == ["R_a", "R_c"]
    with pytest.raises(InputError) as err:
        items_frame(frame, inst, columns={"T1": "Q1", "T2": "Q2", "T3": "Q3", "T4": "Q4"})
    assert (err.value.row, err.value.column) == (5, "Q4")
    assert read_responses(path, exclude_unfinished=True)["ResponseID"].tolist() == ["R_a"]


def test_plain_csv_with_status_column_is_not_filtered(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("id,Status,T1\n1,1,3\n2,0,4\n")
    frame = read_responses(path)
    assert frame.attrs["format"] == "csv" and len(frame) == 2


def test_format_qualtrics_requires_the_export(tmp_path, base):
    path = _write(base, tmp_path / "data.csv")
    with pytest.raises(InputError, match="not a Qualtrics export") as err:
        read_responses(path, format="qualtrics")
    assert err.value.file == str(path)


def test_all_rows_excluded_is_an_error(tmp_path):
    rows = _qualtrics_rows()
    path = _write_csv_rows(rows[:3] + [rows[4]], tmp_path / "previews.csv")
    with pytest.raises(InputError, match="no data rows left.*survey preview: 1") as err:
        read_responses(path)
    assert err.value.row == 4


# ---------------------------------------------------------------------------- REDCap
def test_redcap_raw_export_with_events(tmp_path, inst):
    path = tmp_path / "redcap_raw.csv"
    path.write_text(
        "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,"
        "T1,T2,T3,T4,consent___1,consent___2,empathy_complete\n"
        "1,year_1_arm_1,,,1,2,3,4,1,0,2\n"
        "1,year_2_arm_1,,,2,2,3,5,1,0,2\n"
        "2,year_1_arm_1,,,5,,1,1,0,1,1\n"
        "2,year_1_arm_1,followup,1,3,3,3,3,,,\n")
    frame = read_responses(path)
    assert frame.attrs["format"] == "redcap"
    assert frame.attrs["redcap"]["headers"] == "raw"
    assert frame["redcap_event_name"].tolist() == ["year_1_arm_1", "year_2_arm_1",
                                                   "year_1_arm_1", "year_1_arm_1"]
    assert frame["redcap_repeat_instance"].iloc[3] == 1
    codes = items_frame(frame, inst)
    np.testing.assert_array_equal(codes.to_numpy(), [[1, 2, 3, 4], [2, 2, 3, 5],
                                                     [5, np.nan, 1, 1], [3, 3, 3, 3]])


def test_redcap_label_export_maps_text_in_any_case_and_spacing(tmp_path, inst):
    path = tmp_path / "redcap_labels.csv"
    path.write_text(
        "Record ID,Event Name,Repeat Instrument,Repeat Instance,T1,T2,T3,T4\n"
        "1,Year 1 (Arm 1: Main),,,Strongly disagree,disagree,NEUTRAL,  Agree\n"
        "1,Year 2 (Arm 1: Main),,,strongly   AGREE,Does not apply,Neutral,Agree \n"
        '2,Year 1 (Arm 1: Main),,," Disagree",,Strongly Disagree,agree\n')
    frame = read_responses(path)
    assert frame.attrs["format"] == "redcap"
    assert frame.attrs["redcap"]["headers"] == "labels"
    assert "Event Name" in frame.columns
    codes = items_frame(frame, inst)
    np.testing.assert_array_equal(codes.to_numpy(), [[1, 2, 3, 4], [5, np.nan, 3, 4],
                                                     [2, np.nan, 1, 4]])


def test_redcap_label_not_in_scale_names_row_and_column(tmp_path, inst):
    path = tmp_path / "redcap_labels.csv"
    path.write_text("Record ID,Event Name,T1,T2,T3,T4\n"
                    "1,Year 1,Agree,Agree,Agree,Agree\n"
                    "2,Year 1,Agree,Agree,Somewhat,Agree\n")
    with pytest.raises(InputError) as err:
        items_frame(read_responses(path), inst)
    assert (err.value.file, err.value.row, err.value.column) == (str(path), 3, "T3")
    assert "Strongly disagree" in str(err.value)  # the hint lists the labels


# ---------------------------------------------------------------------------- SPSS
def test_spss_value_labels_kept_as_codes_and_user_missing_become_nan(tmp_path, inst):
    data = pd.DataFrame({
        "id": [1.0, 2.0, 3.0, 4.0, 5.0],
        "T1": [1.0, 9.0, 5.0, 8.0, 2.0],
        "T2": [2.0, 3.0, -99.0, 4.0, 99.0],
        "T3": [3.0, 3.0, 3.0, 3.0, 3.0],
        "T4": [4.0, 4.0, np.nan, 1.0, 5.0],
        "site": ["A", "B", "n/a", "A", ""],
    })
    path = tmp_path / "labelled.sav"
    labels = {c: {**{float(k): v for k, v in LABELS.items()}, 8.0: "Don't know",
                  9.0: "Refused"} for c in ITEMS}
    pyreadstat.write_sav(
        data, str(path), variable_value_labels=labels,
        column_labels={"T1": "Item one"},
        missing_ranges={"T1": [8, 9], "T2": [{"lo": 90, "hi": 100}, -99], "site": ["n/a"]})
    before = _stamp(path)
    frame = read_responses(path)
    assert _stamp(path) == before
    assert frame.attrs["format"] == "sav"
    assert frame.attrs["user_missing"] == {"T1": 2, "T2": 2, "site": 1}
    assert frame.attrs["value_labels"]["T1"][5.0] == "Strongly agree"
    assert frame.attrs["variable_labels"]["T1"] == "Item one"
    assert frame["site"].tolist()[:2] == ["A", "B"] and pd.isna(frame["site"].iloc[2])
    assert frame["site"].iloc[4] == ""  # empty strings stay '' (not declared missing)
    codes = items_frame(frame, inst)
    np.testing.assert_array_equal(codes.to_numpy(), [
        [1, 2, 3, 4], [np.nan, 3, 3, 4], [5, np.nan, 3, np.nan], [np.nan, 4, 3, 1],
        [2, np.nan, 3, 5]])


# ---------------------------------------------------------------------------- bad input
def _assert_where(err, path, row=None, column=None):
    exc = err.value
    assert exc.file == str(path)
    assert str(path) in str(exc)
    if row is not None:
        assert exc.row == row and f"row {row}" in str(exc)
    if column is not None:
        assert exc.column == column and f"column '{column}'" in str(exc)
    assert exc.hint


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(InputError, match="file not found") as err:
        read_responses(tmp_path / "nope.csv")
    _assert_where(err, tmp_path / "nope.csv")
    with pytest.raises(InputError, match="directory") as err:
        read_responses(tmp_path)
    _assert_where(err, tmp_path)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".txt", ".xlsx", ".sav", ".parquet"])
def test_zero_byte_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty") as err:
        read_responses(path)
    _assert_where(err, path, row=1)


@pytest.mark.parametrize("content", ["id,T1,T2\n", "id,T1,T2", "id,T1,T2\n\n\n", "\ufeffid,T1\n"])
def test_header_only_csv_has_no_data_rows(tmp_path, content):
    path = tmp_path / "header.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match="no data rows") as err:
        read_responses(path)
    _assert_where(err, path, row=2)


def test_blank_text_file_is_empty(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n\n")
    with pytest.raises(InputError, match="empty") as err:
        read_responses(path)
    _assert_where(err, path, row=1)


def test_header_only_excel_and_qualtrics(tmp_path, qualtrics_csv):
    path = tmp_path / "header.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["id", "T1"])
    wb.save(path)
    with pytest.raises(InputError, match="no data rows") as err:
        read_responses(path)
    _assert_where(err, path, row=2)
    rows = _qualtrics_rows()[:3]
    qpath = _write_csv_rows(rows, tmp_path / "qheader.csv")
    with pytest.raises(InputError, match="no data rows") as err:
        read_responses(qpath)
    _assert_where(err, qpath, row=4)


@pytest.mark.parametrize("name, hint", [("old.xls", "xlsx"), ("data.json", ".csv"),
                                        ("data.foo", "supported suffixes")])
def test_unsupported_suffix(tmp_path, name, hint):
    path = tmp_path / name
    path.write_bytes(b"id,T1\n1,2\n")
    with pytest.raises(InputError, match="unsupported file type") as err:
        read_responses(path)
    _assert_where(err, path)
    assert hint in err.value.hint


def test_unknown_format_argument(tmp_path, base):
    path = _write(base, tmp_path / "data.csv")
    with pytest.raises(InputError, match="unknown format 'stata'"):
        read_responses(path, format="stata")
    with pytest.raises(InputError, match="sheet= applies only to Excel"):
        read_responses(path, sheet="x")


@pytest.mark.parametrize("suffix, what", [(".xlsx", "Excel"), (".sav", "SPSS"),
                                          (".parquet", "Parquet")])
def test_corrupt_binary_files(tmp_path, base, suffix, what):
    good = _write(base, tmp_path / f"good{suffix}")
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # truncated
    with pytest.raises(InputError, match=f"cannot be read as an? {what}") as err:
        read_responses(path)
    _assert_where(err, path)
    text = tmp_path / f"text{suffix}"
    text.write_bytes(b"id,T1\n1,2\n")  # a CSV with the wrong suffix
    with pytest.raises(InputError, match=f"cannot be read as an? {what}"):
        read_responses(text)


def test_xlsx_that_is_a_zip_of_something_else(tmp_path):
    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    with pytest.raises(InputError, match="Excel"):
        read_responses(path)


@pytest.mark.parametrize("sep, suffix", [(",", ".csv"), ("\t", ".tsv")])
def test_duplicated_column_names_text(tmp_path, sep, suffix):
    path = tmp_path / f"dupes{suffix}"
    path.write_text(sep.join(["id", "T1", "T2", "T1", "T3"]) + "\n"
                    + sep.join(["1", "2", "3", "4", "5"]) + "\n")
    with pytest.raises(InputError, match="duplicated column name.*'T1' in columns 2, 4") as err:
        read_responses(path)
    _assert_where(err, path, row=1, column="T1")


def test_duplicated_column_names_excel(tmp_path):
    path = tmp_path / "dupes.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["id", "T2", "T1", "T2"])
    wb.active.append([1, 2, 3, 4])
    wb.save(path)
    with pytest.raises(InputError, match="'T2' in columns B, D") as err:
        read_responses(path)
    _assert_where(err, path, row=1, column="T2")


def test_ragged_csv_row_names_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text('id,T1,T2\n1,2,3\n"a\nb",3,4\n3,4,5,6\n')
    with pytest.raises(InputError, match="4 fields but the header names 3") as err:
        read_responses(path)
    _assert_where(err, path, row=4, column="#4")


def test_every_row_one_field_longer_than_the_header(tmp_path):
    """pandas would silently take the first column as the index; the reader refuses."""
    path = tmp_path / "shifted.csv"
    path.write_text("T1,T2\n1,2,3\n4,5,6\n")
    with pytest.raises(InputError, match="3 fields but the header names 2") as err:
        read_responses(path)
    _assert_where(err, path, row=2, column="#3")
    path.write_text("T1,T2\n1,2,\n4,5\n7,8,9\n")
    with pytest.raises(InputError) as err:
        read_responses(path)
    _assert_where(err, path, row=4, column="#3")


def test_trailing_delimiters_on_data_rows_are_harmless(tmp_path, inst):
    path = tmp_path / "trailing.csv"
    path.write_text("T1,T2,T3,T4\n1,2,3,4,\n5,4,3,2,\n")
    frame = read_responses(path)
    assert list(frame.columns) == ITEMS
    np.testing.assert_array_equal(items_frame(frame, inst).to_numpy(),
                                  [[1, 2, 3, 4], [5, 4, 3, 2]])


def test_unclosed_quote(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('id,T1,T2\n1,2,3\n2,"3,4\n')
    with pytest.raises(InputError, match="quote") as err:
        read_responses(path)
    _assert_where(err, path)


def test_non_numeric_junk_names_file_row_and_column(tmp_path, base, inst):
    data = base.astype({"T3": object})
    data.loc[3, "T3"] = "3?"
    path = _write(data, tmp_path / "junk.csv")
    with pytest.raises(InputError) as err:
        items_frame(read_responses(path), inst)
    _assert_where(err, path, row=5, column="T3")


# ---------------------------------------------------------------------------- column map
def test_column_map_reads_and_validates(tmp_path, qualtrics_csv, inst):
    path = tmp_path / "map.yaml"
    path.write_text("# Qualtrics matrix question\nT1: Q1_1\nT2: Q1_2\nT3: Q1_3\nT4: 'Q1_4'\n")
    assert read_column_map(path) == {"T1": "Q1_1", "T2": "Q1_2", "T3": "Q1_3", "T4": "Q1_4"}
    path.write_text("T1: 11\nT2: 12\n")  # numbers are taken as their text
    assert read_column_map(path) == {"T1": "11", "T2": "12"}


@pytest.mark.parametrize("text, row, column, match", [
    ("- T1\n- T2\n", 1, None, "must be a mapping"),
    ("T1: Q1\nT2: [Q2, Q3]\n", 2, "T2", "must be a single name"),
    ("T1: Q1\nT2:\n", 2, "T2", "must be a single name"),
    ("T1: Q1\nT2: Q1\n", 2, "T2", "both mapped to column 'Q1'"),
    ("T1: Q1\nT1: Q2\n", 2, "T1", "mapped twice"),
    ("T1: Q1\n  T2: : Q2\n", 2, None, "not valid YAML"),
    ("", None, None, "empty"),
])
def test_column_map_errors_name_the_file_and_line(tmp_path, text, row, column, match):
    path = tmp_path / "map.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=match) as err:
        read_column_map(path)
    _assert_where(err, path, row=row, column=column)


def test_column_map_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found") as err:
        read_column_map(tmp_path / "map.yaml")
    _assert_where(err, tmp_path / "map.yaml")


# ---------------------------------------------------------------------------- property
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.one_of(st.integers(-99, 99), st.none()), min_size=4, max_size=4),
                min_size=1, max_size=30),
       st.sampled_from([",", "\t", ";"]))
def test_csv_round_trip_of_random_codes(tmp_path, rows, sep):
    """Integer codes with missing cells survive a write/read (blank rows aside)."""
    expected = pd.DataFrame(rows, columns=ITEMS, dtype=float)
    path = tmp_path / "prop.txt"
    expected.to_csv(path, index=False, sep=sep)
    kept = expected.notna().any(axis=1).to_numpy()
    if not kept.any():
        with pytest.raises(InputError, match="no data rows"):
            read_responses(path)
        return
    frame = read_responses(path)
    got = frame[ITEMS].astype(float)
    pd.testing.assert_frame_equal(got, expected[kept], check_index_type=False)
    assert source_rows(frame).tolist() == (np.flatnonzero(kept) + 2).tolist()


def test_redcap_missing_data_codes_become_missing_and_are_counted(tmp_path, inst):
    path = tmp_path / "redcap_unk.csv"
    path.write_text("record_id,redcap_event_name,T1,T2,T3,T4\n"
                    "1,year_1_arm_1,1,UNK,3,4\n"
                    "2,year_1_arm_1, unk ,2,-999,4\n"
                    "3,year_1_arm_1,5,5,5,5\n")
    with pytest.raises(InputError) as err:  # without the codes, UNK is not an answer
        items_frame(read_responses(path), inst)
    assert (err.value.row, err.value.column) == (3, "T1")  # items are checked in order
    frame = read_responses(path, missing_codes=["UNK", -999])
    assert frame.attrs["missing_codes"] == {"T1": 1, "T2": 1, "T3": 1}
    np.testing.assert_array_equal(items_frame(frame, inst).to_numpy(),
                                  [[1, np.nan, 3, 4], [np.nan, 2, np.nan, 4], [5, 5, 5, 5]])


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.booleans(), min_size=1, max_size=25), st.data())
def test_junk_row_is_the_spreadsheet_row_after_previews_are_dropped(tmp_path, inst, previews,
                                                                     data):
    """Qualtrics file, random preview rows dropped: the error names the junk's own row."""
    kept = [i for i, p in enumerate(previews) if not p]
    rows = _qualtrics_rows()[:3]
    header = rows[0]
    junk_at = data.draw(st.sampled_from(kept)) if kept else None
    for i, preview in enumerate(previews):
        answers = ["junk" if i == junk_at else "2", "3", "4", "5"]
        row = dict.fromkeys(header, "")
        row.update({"Status": "Survey Preview" if preview else "IP Address",
                    "ResponseId": f"R_{i}", "Finished": "True",
                    "DistributionChannel": "anonymous",
                    "Q1_1": answers[0], "Q1_2": answers[1], "Q1_3": answers[2],
                    "Q1_4": answers[3]})
        rows.append([row[c] for c in header])
    path = _write_csv_rows(rows, tmp_path / "prop_q.csv")
    if not kept:
        with pytest.raises(InputError, match="no data rows left"):
            read_responses(path)
        return
    frame = read_responses(path)
    assert frame.attrs["exclusions"] == ({"survey preview": sum(previews)} if any(previews)
                                         else {})
    with pytest.raises(InputError) as err:
        items_frame(frame, inst, columns={"T1": "Q1_1", "T2": "Q1_2", "T3": "Q1_3",
                                          "T4": "Q1_4"})
    assert (err.value.row, err.value.column) == (4 + junk_at, "Q1_1")
