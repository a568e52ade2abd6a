"""`empathy score` and `empathy validate` through CliRunner and real subprocesses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli
from empathy_metrics.instruments import load_instrument
from empathy_metrics.scoring import FLAG_COLUMNS, score

from .test_cli_instruments import empathy_script
from .test_instruments import BFI_A_C_YAML

BFI = Path(__file__).parent / "reference" / "data" / "bfi.csv"
JSE_SCALES = ["perspective_taking", "compassionate_care", "standing_in_patients_shoes", "total"]
#: scores are sums/means of a few small integers: equal up to rounding error.
TOL = 1e-9


def run(args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def survey(tmp_path) -> Path:
    """30 JSE-S respondents with an id column, a few missing answers, one of each flag."""
    inst = load_instrument("jse-s")
    rng = np.random.default_rng(11)
    x = rng.integers(1, 8, size=(30, 20)).astype(float)
    x[5:10, 1] = np.nan         # JSE2 missing: within the allowance
    x[10:13, 19] = np.nan       # JSE20 missing: within the allowance
    x[0, :6] = np.nan           # unscorable
    x[1] = 4                    # straightlining
    x[2, 0] = 9                 # out of range
    frame = pd.DataFrame(x, columns=inst.item_ids)
    frame.insert(0, "student_id", [f"s{i:02d}" for i in range(30)])
    frame.loc[3, "student_id"] = "s04"  # duplicate of row 4
    frame["year"] = 1
    path = tmp_path / "survey.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def clean(tmp_path) -> Path:
    """11 JSE-S respondents, no flag; one answer missing within the allowance."""
    inst = load_instrument("jse-s")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.integers(1, 8, size=(11, 20)).astype(float), columns=inst.item_ids)
    frame["JSE1"] = np.arange(11) % 7 + 1
    frame["JSE2"] = (np.arange(11) + 3) % 7 + 1  # nobody gives one answer throughout
    frame.loc[2, "JSE2"] = np.nan  # perspective taking may miss 2 of 10
    path = tmp_path / "clean.csv"
    frame.to_csv(path, index=False)
    return path


def _expected(path, inst="jse-s", id_col="student_id"):
    return score(pd.read_csv(path), inst, id_col=id_col).scores


def test_score_writes_csv_matching_the_library(survey, tmp_path):
    out = tmp_path / "scores.csv"
    res = run(["score", survey, "-i", "jse-s", "--id-col", "student_id", "-o", out])
    assert res.exit_code == 0, res.output
    assert "30 respondents" in res.output and f"Scores written to {out}" in res.output
    assert "unscorable 1, out_of_range 1, straightlining 1, duplicate_id 2" in res.output
    got = pd.read_csv(out)
    assert list(got.columns) == ["student_id", *JSE_SCALES, "n_missing", *FLAG_COLUMNS]
    want = _expected(survey)
    np.testing.assert_allclose(got[JSE_SCALES], want[JSE_SCALES], rtol=0, atol=TOL)
    assert got["student_id"].tolist() == want["student_id"].tolist()
    for flag in FLAG_COLUMNS:
        assert got[flag].tolist() == want[flag].tolist()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".json"])
def test_score_other_output_formats(survey, tmp_path, suffix):
    out = tmp_path / f"scores{suffix}"
    res = run(["score", survey, "-i", "jse-s", "--id-col", "student_id", "-o", out])
    assert res.exit_code == 0, res.output
    want = _expected(survey)
    if suffix == ".json":
        d = json.loads(out.read_text())
        assert d["instrument"] == "jse-s" and d["n"] == 30
        got = pd.DataFrame(d["scores"]).set_index("id")
        np.testing.assert_allclose(got[JSE_SCALES].to_numpy(float),
                                   want[JSE_SCALES].to_numpy(float), rtol=0, atol=TOL)
        return
    got = pd.read_excel(out) if suffix == ".xlsx" else pd.read_parquet(out)
    assert list(got.columns) == ["student_id", *JSE_SCALES, "n_missing", *FLAG_COLUMNS]
    np.testing.assert_allclose(got[JSE_SCALES].to_numpy(float), want[JSE_SCALES].to_numpy(float),
                               rtol=0, atol=TOL)
    assert got["unscorable"].astype(bool).tolist() == want["unscorable"].tolist()


def test_score_json_has_the_issue_shape(survey):
    res = run(["score", survey, "-i", "jse-s", "--id-col", "student_id", "--format", "json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert list(d) == ["instrument", "n", "scores"]
    assert d["instrument"] == "jse-s" and d["n"] == 30 and len(d["scores"]) == 30
    for row in d["scores"]:
        assert list(row) == ["id", *JSE_SCALES, "n_missing", "flags"]
        assert set(row["flags"]) <= set(FLAG_COLUMNS)
    first = d["scores"][0]
    assert first["id"] == "s00" and first["total"] is None and "unscorable" in first["flags"]
    assert first["n_missing"] == 6
    assert d["scores"][1]["flags"] == ["straightlining"]
    assert "out_of_range" in d["scores"][2]["flags"]
    assert "duplicate_id" in d["scores"][3]["flags"] and "duplicate_id" in d["scores"][4]["flags"]
    want = _expected(survey)
    got = [r["total"] for r in d["scores"][1:]]
    np.testing.assert_allclose(got, want["total"][1:], rtol=0, atol=TOL)


def test_score_json_ids_are_file_rows_without_id_col(tmp_path):
    inst = load_instrument("teq")
    lines = [",".join(inst.item_ids), ",".join(["1"] * 16), "", ",".join(["2"] * 16)]
    path = tmp_path / "gap.csv"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "s.csv"
    res = run(["score", path, "-i", "teq", "--format", "json", "-o", out])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert [r["id"] for r in d["scores"]] == [2, 4]  # the blank line 3 is not a respondent
    assert f"Scores written to {out}" in res.stderr
    assert "rows of" in res.stderr and "not read as respondents: empty row 1" in res.stderr
    assert pd.read_csv(out)["row"].tolist() == [2, 4]
    res = run(["validate", path, "-i", "teq", "--format", "json"])
    assert res.exit_code == 1, res.output  # both respondents straightline
    q = json.loads(res.stdout)
    assert q["n"] == 2 and q["rows_not_read"] == {"empty row": 1}
    assert q["flagged_rows"]["straightlining"] == [2, 4]
    res = run(["validate", path, "-i", "teq"])
    assert "Rows of the file not read as respondents: empty row 1" in res.stdout


def test_score_with_column_map_and_text_answers(tmp_path):
    inst = load_instrument("jse-s")
    codes = np.tile(np.arange(1, 8), 3)[:20]
    labels = {1: "Strongly disagree", 4: "Neutral", 7: " strongly AGREE "}
    row_text = [labels.get(int(c), int(c)) for c in codes]
    frame = pd.DataFrame([row_text, list(codes)], columns=[f"Q{i}" for i in range(1, 21)])
    data = tmp_path / "export.csv"
    frame.to_csv(data, index=False)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("".join(f"{iid}: Q{i}\n" for i, iid in enumerate(inst.item_ids, 1)))
    res = run(["score", data, "-i", "jse-s", "--map", mapping, "--format", "json"])
    assert res.exit_code == 0, res.output
    totals = [r["total"] for r in json.loads(res.stdout)["scores"]]
    numeric = pd.DataFrame([codes], columns=inst.item_ids)
    assert totals == [score(numeric, inst).scores["total"][0]] * 2


def test_issue_example_yaml_scores_bfi_through_the_cli(tmp_path):
    yaml_path = tmp_path / "bfi-a-c.yaml"
    yaml_path.write_text(BFI_A_C_YAML)
    out = tmp_path / "bfi_scores.csv"
    res = run(["score", BFI, "-i", yaml_path, "-o", out])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    data = pd.read_csv(BFI)
    keyed = data.copy()
    keyed[["A1", "C4", "C5"]] = 7 - keyed[["A1", "C4", "C5"]]
    for scale, cols in {"agreeableness": ["A1", "A2", "A3", "A4", "A5"],
                        "conscientiousness": ["C1", "C2", "C3", "C4", "C5"]}.items():
        expected = keyed[cols].mean(axis=1).where(keyed[cols].isna().sum(axis=1) <= 1)
        np.testing.assert_allclose(got[scale], expected, rtol=0, atol=TOL)
    assert got["row"].tolist() == list(range(2, 2802))


def test_score_overwrites_an_existing_output(survey, tmp_path):
    out = tmp_path / "scores.csv"
    out.write_text("old content\n")
    res = run(["score", survey, "-i", "jse-s", "-o", out])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out).shape == (30, 1 + 4 + 1 + 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv", "survey.csv"]


def test_validate_reports_problems_with_exit_1(survey):
    res = run(["validate", survey, "-i", "jse-s", "--id-col", "student_id"])
    assert res.exit_code == 1, res.output
    out = res.output
    assert "Respondents: 30" in out and "Problems found" in out
    # survey rows 0..4 are file rows 2..6
    assert "unscorable           1   rows 2" in out
    assert "straightlining       1   rows 3" in out
    assert "out_of_range         1   rows 4" in out
    assert "duplicate_id         2   rows 5, 6" in out
    assert "JSE1" in out and "missing" in out and "out_of_range" in out

    res = run(["validate", survey, "-i", "jse-s", "--id-col", "student_id", "--format", "json"])
    assert res.exit_code == 1
    q = json.loads(res.stdout)
    assert q["n"] == 30 and q["problems"] is True
    assert q["flags"] == {"unscorable": 1, "out_of_range": 1, "straightlining": 1,
                          "duplicate_id": 2}
    raw = pd.read_csv(survey)
    items = {it["item"]: it for it in q["items"]}
    assert items["JSE1"]["out_of_range"] == 1
    assert items["JSE1"]["missing"] == int(raw["JSE1"].isna().sum()) + 1
    assert items["JSE20"]["missing"] == int(raw["JSE20"].isna().sum())
    assert [it["item"] for it in q["items"]] == load_instrument("jse-s").item_ids


def test_validate_clean_file_exit_0(clean):
    res = run(["validate", clean, "-i", "jse-s"])
    assert res.exit_code == 0, res.output
    assert "No problems found." in res.output and "Respondents: 11" in res.output
    assert re.search(r"^  JSE2 +1 +0$", res.output, re.MULTILINE)
    assert "JSE3 " not in res.output  # complete items are not listed
    res = run(["validate", clean, "-i", "jse-s", "--format", "json"])
    assert res.exit_code == 0
    q = json.loads(res.stdout)
    assert q["problems"] is False and q["flags"] == dict.fromkeys(FLAG_COLUMNS, 0)
    assert q["n_scored"] == dict.fromkeys(JSE_SCALES, 11)


@pytest.mark.parametrize("command", ["score", "validate"])
def test_help_has_an_example(command):
    res = run([command, "--help"])
    assert res.exit_code == 0
    assert "Example" in res.output and f"empathy {command} survey.csv -i jse-s" in res.output


@pytest.mark.parametrize("launcher", ["module", "script"])
def test_subprocess_score_and_validate(survey, tmp_path, launcher):
    prefix = ([sys.executable, "-m", "empathy_metrics"] if launcher == "module"
              else [empathy_script()])
    out = tmp_path / "s.parquet"
    proc = subprocess.run([*prefix, "score", str(survey), "-i", "jse-s", "--id-col",
                           "student_id", "-o", str(out), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n"] == 30
    assert pd.read_parquet(out)["student_id"].tolist()[:2] == ["s00", "s01"]
    proc = subprocess.run([*prefix, "validate", str(survey), "-i", "jse-s"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Problems found" in proc.stdout, proc.stderr


@pytest.mark.parametrize("suffix", [".xlsx", ".sav", ".parquet", ".tsv"])
def test_score_reads_the_other_input_formats(survey, tmp_path, suffix):
    frame = pd.read_csv(survey)
    path = tmp_path / f"survey{suffix}"
    if suffix == ".xlsx":
        frame.to_excel(path, index=False)
    elif suffix == ".sav":
        import pyreadstat

        labels = {1.0: "Strongly disagree", 7.0: "Strongly agree"}
        pyreadstat.write_sav(frame, str(path), variable_value_labels={
            c: labels for c in frame.columns if c.startswith("JSE")})
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, sep="\t")
    res = run(["score", path, "-i", "jse-s", "--id-col", "student_id", "--format", "json"])
    assert res.exit_code == 0, res.output
    got = pd.DataFrame(json.loads(res.stdout)["scores"])
    want = _expected(survey)
    assert got["id"].tolist() == want["student_id"].tolist()
    np.testing.assert_allclose(got[JSE_SCALES].to_numpy(float), want[JSE_SCALES].to_numpy(float),
                               rtol=0, atol=TOL)
