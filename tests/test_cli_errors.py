"""Every bad input of issue 2 (item 6): exit code 2, a short message naming the file, row and
column with a hint, no traceback (unless --debug), no output file, the input untouched.
Checked through click's CliRunner and through real subprocesses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli

from .test_cli_instruments import empathy_script

TEQ = [f"TEQ{i}" for i in range(1, 17)]
ROWS = [[(r + c) % 5 for c in range(16)] for r in range(6)]
NAMES = ["Zoë", "José", "Ana", "Brønn", "Ülla", "Kai"]
NAMED_ROWS = [r + [n] for r, n in zip(ROWS, NAMES, strict=True)]


def _csv(path: Path, header, rows, encoding="utf-8") -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def _good(tmp: Path) -> Path:
    return _csv(tmp / "good.csv", TEQ + ["name"], NAMED_ROWS)


def _with(tmp, name, row, col, value):
    rows = [list(r) for r in ROWS]
    rows[row][col] = value
    return _csv(tmp / name, TEQ, rows)


def _bad_instrument(tmp):
    path = tmp / "my-scale.yaml"
    path.write_text("id: mine\nname: Mine\ncitation: x\nlicense: x\n"
                    "response_scale: {min: 0, max: 4}\n"
                    "items: [{id: TEQ1}, {id: TEQ2}]\n"
                    "subscales:\n  a: [TEQ1, TEQ3]\n"
                    "scoring: {method: sum}\n")
    return path


def _empty(tmp):
    path = tmp / "empty.csv"
    path.write_bytes(b"")
    return path


def _dir_named_csv(tmp):
    d = tmp / "scores.csv"
    d.mkdir()
    return d


# case -> (build(tmp) -> (data, instrument, output), required stderr fragments)
CASES = {
    "missing path": (
        lambda t: (t / "nope.csv", "teq", t / "out.csv"),
        ["nope.csv: file not found", "(check the path"]),
    "empty file": (
        lambda t: (_empty(t), "teq", t / "out.csv"),
        ["empty.csv, row 1: the file is empty", "(export the survey data again"]),
    "no instrument items": (
        lambda t: (_csv(t / "other.csv", ["a", "b"], [[1, 2]]), "teq", t / "out.csv"),
        ["other.csv: none of the 16 items of instrument 'teq'", "--map"]),
    "non-numeric junk": (
        lambda t: (_with(t, "junk.csv", 3, 4, "abc"), "teq", t / "out.csv"),
        ["junk.csv, row 5, column 'TEQ5'", "'abc'", "(use a code 0..4"]),
    "text answer not a label": (
        lambda t: (_with(t, "label.csv", 4, 8, "Hardly ever"), "teq", t / "out.csv"),
        ["label.csv, row 6, column 'TEQ9'", "'Hardly ever'", "Never, Rarely, Sometimes"]),
    "duplicated column names": (
        lambda t: (_csv(t / "dup.csv", TEQ + ["TEQ3"], [r + [1] for r in ROWS]), "teq",
                   t / "out.csv"),
        ["dup.csv, row 1, column 'TEQ3'", "duplicated", "(rename the columns"]),
    "subscale names an unknown item": (
        lambda t: (_good(t), _bad_instrument(t), t / "out.csv"),
        ["my-scale.yaml: field 'subscales.a[1]'", "unknown item 'TEQ3'",
         "(items are TEQ1, TEQ2)"]),
    "unknown instrument id": (
        lambda t: (_good(t), "jse", t / "out.csv"),
        ["unknown instrument 'jse'", "(use one of care, iri, jse-hp"]),
    "output folder does not exist": (
        lambda t: (_good(t), "teq", t / "no-such-dir" / "out.csv"),
        ["no-such-dir/out.csv: the output folder does not exist", "(create "]),
    "output path is a directory": (
        lambda t: (_good(t), "teq", _dir_named_csv(t)),
        ["scores.csv: the output path is a folder", "(give a file name"]),
    "output is the input file": (
        lambda t: (_good(t), "teq", t / "good.csv"),
        ["good.csv: the output would overwrite the input", "(choose another output name"]),
    "unknown output suffix": (
        lambda t: (_good(t), "teq", t / "out.txt"),
        ["out.txt: unsupported output format '.txt'", ".csv, .xlsx, .json, .parquet"]),
}


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def _check(case, code, stderr, stdout, before, after, output, tmp):
    assert code == 2, (case, code, stderr, stdout)
    for fragment in CASES[case][1]:
        assert fragment in stderr, (case, fragment, stderr)
    assert stderr.startswith("Error: ") and len(stderr.strip().splitlines()) == 1, stderr
    assert re.search(r"\(.+\)$", stderr.strip()), f"no hint: {stderr}"
    assert "Traceback" not in stderr + stdout
    # no output or temporary file left, the inputs (and a pre-existing output) untouched
    assert after == before, "the folder changed"
    if str(output.relative_to(tmp)) not in before:
        assert not output.exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_cli_runner(case, tmp_path):
    data, inst, output = CASES[case][0](tmp_path)
    before = _snapshot(tmp_path)
    res = CliRunner().invoke(cli, ["score", str(data), "-i", str(inst), "-o", str(output)])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    _check(case, res.exit_code, res.stderr, res.stdout, before, _snapshot(tmp_path), output,
           tmp_path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_subprocess(case, tmp_path):
    data, inst, output = CASES[case][0](tmp_path)
    before = _snapshot(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "score", str(data), "-i", str(inst),
         "-o", str(output)], capture_output=True, text=True, timeout=120)
    _check(case, proc.returncode, proc.stderr, proc.stdout, before, _snapshot(tmp_path), output,
           tmp_path)


@pytest.mark.parametrize("case", ["non-numeric junk", "subscale names an unknown item",
                                  "output folder does not exist"])
def test_bad_input_console_script_and_validate(case, tmp_path):
    data, inst, output = CASES[case][0](tmp_path)
    before = _snapshot(tmp_path)
    proc = subprocess.run([empathy_script(), "score", str(data), "-i", str(inst), "-o",
                           str(output)], capture_output=True, text=True, timeout=120)
    _check(case, proc.returncode, proc.stderr, proc.stdout, before, _snapshot(tmp_path), output,
           tmp_path)
    if case != "output folder does not exist":  # validate writes nothing; same input errors
        proc = subprocess.run([empathy_script(), "validate", str(data), "-i", str(inst)],
                              capture_output=True, text=True, timeout=120)
        _check(case, proc.returncode, proc.stderr, proc.stdout, before, _snapshot(tmp_path),
               output, tmp_path)


@pytest.mark.parametrize("case", ["non-numeric junk", "subscale names an unknown item"])
def test_debug_shows_the_traceback(case, tmp_path):
    data, inst, output = CASES[case][0](tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "--debug", "score", str(data), "-i", str(inst),
         "-o", str(output)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr
    assert re.search(r"empathy_metrics\.errors\.(InputError|InstrumentError): ", proc.stderr)
    assert not output.exists()


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8-sig"])
@pytest.mark.parametrize("launcher", ["runner", "module"])
def test_latin1_and_bom_files_simply_work(tmp_path, encoding, launcher):
    # the first header cell is an item, so a BOM left in the header would hide TEQ1
    data = _csv(tmp_path / "enc.csv", TEQ + ["name"], NAMED_ROWS,
                encoding=encoding)
    raw = data.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    out = tmp_path / "scores.csv"
    args = ["score", str(data), "-i", "teq", "--id-col", "name", "-o", str(out),
            "--format", "json"]
    if launcher == "runner":
        res = CliRunner().invoke(cli, args)
        code, stdout, stderr = res.exit_code, res.stdout, res.stderr
    else:
        proc = subprocess.run([sys.executable, "-m", "empathy_metrics", *args],
                              capture_output=True, text=True, timeout=120, encoding="utf-8")
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    assert code == 0, stderr
    d = json.loads(stdout)
    assert [r["id"] for r in d["scores"]] == NAMES
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("Zoë,")
    assert data.read_bytes() == raw  # input never modified
