"""The bad-input catalogue, continued (issue 8 item 6): every kind of bad input a programme
office sends -- malformed CSV, encodings, NUL bytes, formula and HTML answers, header variants,
ragged rows, wrong sheets, wrong types, bad maps and instruments, path tricks with symbolic
links and ``..`` -- ends with exit code 2 and one ``Error:`` line naming the file (and row and
column where there is one) with a hint, no traceback, no file written, inputs byte-identical.

Together with tests/test_cli_errors.py (``CASES``) the catalogue holds more than 40 kinds.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli

from .test_cli_errors import CASES as FIRST_CASES
from .test_cli_errors import NAMED_ROWS, ROWS, TEQ, _csv, _good

JSE = [f"JSE{i}" for i in range(1, 21)]


def _with(tmp: Path, name: str, row: int, col: int, value: str, sep: str = ",") -> Path:
    rows = [list(r) for r in ROWS]
    rows[row][col] = value
    lines = [sep.join(TEQ)] + [sep.join(str(v) for v in r) for r in rows]
    path = tmp / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _raw(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _good_bytes() -> bytes:
    return ("\n".join([",".join(TEQ)] + [",".join(map(str, r)) for r in ROWS]) + "\n").encode()


def _book(tmp: Path, sheets: dict[str, list[list]], name: str = "book.xlsx") -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    path = tmp / name
    wb.save(path)
    return path


def _teq_sheet() -> list[list]:
    return [TEQ, *ROWS]


def _text(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def _instrument(tmp: Path, extra: str = "") -> Path:
    return _text(tmp, "mine.yaml", "id: mine\nname: Mine\nresponse_scale: {min: 0, max: 4}\n"
                                   "items: [{id: TEQ1}, {id: TEQ2}]\nscoring: {method: sum}\n"
                                   + extra)


def _link(tmp: Path, name: str, target: Path) -> Path:
    link = tmp / name
    link.symlink_to(target)
    return link


def _score(data, out="out.csv", *extra):
    return lambda t: ["score", _resolve(t, data), "-i", "teq", "-o", t / out, *extra]


def _resolve(t: Path, data):
    return data(t) if callable(data) else data


def _sub(t: Path) -> Path:
    (t / "sub").mkdir(exist_ok=True)
    return t / "sub"


def _input_in_tables(t: Path) -> Path:
    (t / "r_tables").mkdir()
    return _csv(t / "r_tables" / "survey.csv", TEQ, ROWS)


def _unfinished(t: Path) -> Path:
    import json

    meta = ["Status", "Progress", "Finished", "ResponseId"]
    ids = [json.dumps({"ImportId": c}) for c in ["status", "progress", "finished", "_recordId"]]
    ids += [json.dumps({"ImportId": f"QID{j}"}) for j in range(16)]
    lines = [",".join(meta + TEQ), ",".join(meta + TEQ),
             ",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' for c in ids)]
    lines += [",".join(["IP Address", "50", "0", f"R_{k}", *map(str, r)])
              for k, r in enumerate(ROWS)]
    return _text(t, "qualtrics.csv", "\n".join(lines) + "\n")


# kind -> (argv builder(tmp), fragments the message must hold)
CATALOGUE = {
    # ------------------------------------------------------------------ malformed text
    "quote never closed": (
        _score(lambda t: _text(t, "quote.csv", ",".join(TEQ) + "\n" + "\n".join(
            ",".join(map(str, r)) for r in ROWS[:2]) + '\n"1,2,3\n4\n')),
        ["quote.csv, row 4", "never closed"]),
    "ragged row (extra field)": (
        _score(lambda t: _text(t, "ragged.csv", _good_bytes().decode().replace(
            "\n1,2,3,4,0,1", "\n1,2,3,4,0,1,9,9", 1) + "")),
        ["ragged.csv, row", "column '#17'", "fields"]),
    "NUL byte in a row": (
        _score(lambda t: _raw(t, "nul.csv", _good_bytes().replace(b"\n1,", b"\n1\x00,", 1))),
        ["nul.csv, row 3", "NUL byte"]),
    "UTF-16 without byte-order mark": (
        _score(lambda t: _raw(t, "u16.csv", _good_bytes().decode().encode("utf-16-le"))),
        ["u16.csv, row 1", "UTF-16", "--encoding utf-16-le"]),
    "binary file named .csv": (
        _score(lambda t: _raw(t, "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)),
        ["image.csv, row", "NUL byte", "not plain text"]),
    "wrong encoding given": (
        _score(lambda t: _csv(t / "latin.csv", TEQ + ["name"], NAMED_ROWS, "cp1252"), "out.csv",
               "--encoding", "utf-8"),
        ["latin.csv", "cannot be decoded as utf-8", "real encoding"]),
    "unknown encoding name": (
        _score(_good, "out.csv", "--encoding", "klingon"),
        ["good.csv", "unknown encoding 'klingon'"]),
    # ------------------------------------------------------------------ answers (wrong types)
    "formula in an answer": (
        _score(lambda t: _with(t, "formula.csv", 2, 1, "=1+1")),
        ["formula.csv, row 4, column 'TEQ2'", "'=1+1'"]),
    "HTML in an answer": (
        _score(lambda t: _with(t, "html.csv", 1, 5, "<b>Often</b>")),
        ["html.csv, row 3, column 'TEQ6'", "'<b>Often</b>'", "Never, Rarely"]),
    "date in an answer": (
        _score(lambda t: _with(t, "date.csv", 0, 0, "2024-01-01")),
        ["date.csv, row 2, column 'TEQ1'", "'2024-01-01'"]),
    "decimal comma in an answer": (
        _score(lambda t: _with(t, "comma.csv", 3, 2, "2,5", sep=";")),
        ["comma.csv, row 5, column 'TEQ3'", "'2,5'"]),
    "boolean in an answer": (
        _score(lambda t: _with(t, "bool.csv", 5, 15, "TRUE")),
        ["bool.csv, row 7, column 'TEQ16'", "'TRUE'"]),
    # ------------------------------------------------------------------ header variants
    "duplicate header after trimming": (
        _score(lambda t: _text(t, "trim.csv", _good_bytes().decode().replace(
            "TEQ16", " TEQ15 ", 1))),
        ["trim.csv, row 1, column 'TEQ15'", "duplicated"]),
    "id column ambiguous by case": (
        _score(lambda t: _csv(t / "ids.csv", TEQ + ["ID", "id"],
                              [r + [k, k] for k, r in enumerate(ROWS)]), "out.csv",
               "--id-col", "Id"),
        ["ids.csv", "column 'Id'", "matches several columns", "'ID', 'id'"]),
    "id column not found": (
        _score(_good, "out.csv", "--id-col", "student"),
        ["good.csv", "column 'student'", "id column 'student' not found"]),
    "id column named like a score": (
        _score(lambda t: _csv(t / "tot.csv", TEQ + ["total"],
                              [r + [k] for k, r in enumerate(ROWS)]), "out.csv",
               "--id-col", "total"),
        ["tot.csv", "column 'total'", "clashes with a score column"]),
    "header only": (
        _score(lambda t: _text(t, "header.csv", ",".join(TEQ) + "\n")),
        ["header.csv, row 2", "no data rows"]),
    "blank rows only": (
        _score(lambda t: _text(t, "blank.csv", ",".join(TEQ) + "\n" + "," * 15 + "\n\n")),
        ["blank.csv, row 2", "no data rows"]),
    # ------------------------------------------------------------------ workbooks
    "no such sheet": (
        _score(lambda t: _book(t, {"data": _teq_sheet()}), "out.csv", "--sheet", "nope"),
        ["book.xlsx", "no sheet 'nope'", "0: 'data'"]),
    "sheet number out of range": (
        _score(lambda t: _book(t, {"data": _teq_sheet()}), "out.csv", "--sheet", "7"),
        ["book.xlsx", "no sheet number 7", "numbers start at 0"]),
    "several sheets, none chosen": (
        _score(lambda t: _book(t, {"Notes": [["read me"]], "2024": _teq_sheet()})),
        ["book.xlsx", "2 sheets with data ('Notes', '2024')", "--sheet"]),
    "--sheet on a CSV file": (
        _score(_good, "out.csv", "--sheet", "data"),
        ["good.csv", "sheet= applies only to Excel"]),
    "workbook without data": (
        _score(lambda t: _book(t, {"empty": []})),
        ["book.xlsx, row 1", "no sheet of the workbook holds any data"]),
    "corrupt workbook": (
        _score(lambda t: _raw(t, "broken.xlsx", _good_bytes())),
        ["broken.xlsx", "cannot be read as an Excel .xlsx workbook"]),
    "old .xls workbook": (
        _score(lambda t: _raw(t, "old.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 60)),
        ["old.xls", "unsupported file type '.xls'", "save it from Excel as .xlsx"]),
    "data path is a folder": (
        _score(lambda t: _sub(t)),
        ["sub", "is a directory"]),
    "Qualtrics export with only unfinished responses": (
        _score(_unfinished, "out.csv", "--exclude-unfinished"),
        ["qualtrics.csv, row 4", "no data rows left (unfinished: 6)"]),
    # ------------------------------------------------------------------ column maps
    "column map missing": (
        lambda t: ["score", _good(t), "-i", "teq", "--map", t / "nomap.yaml"],
        ["nomap.yaml", "column map not found"]),
    "column map not a mapping": (
        lambda t: ["score", _good(t), "-i", "teq", "--map",
                   _text(t, "list.yaml", "- TEQ1\n- TEQ2\n")],
        ["list.yaml, row 1", "must be a mapping"]),
    "column map invalid YAML": (
        lambda t: ["score", _good(t), "-i", "teq", "--map",
                   _text(t, "bad.yaml", "TEQ1: Q1\nTEQ2: [Q2\n")],
        ["bad.yaml, row", "not valid YAML"]),
    "column map names an unknown item": (
        lambda t: ["score", _good(t), "-i", "teq", "--map",
                   _text(t, "unk.yaml", "TEQ99: TEQ1\n")],
        ["good.csv", "unknown item(s) TEQ99"]),
    "column map gives two items one column": (
        lambda t: ["score", _good(t), "-i", "teq", "--map",
                   _text(t, "two.yaml", "TEQ1: TEQ1\nTEQ2: TEQ1\n")],
        ["two.yaml, row 2, column 'TEQ2'", "both mapped to column 'TEQ1'"]),
    # ------------------------------------------------------------------ instruments
    "instrument file missing": (
        lambda t: ["score", _good(t), "-i", t / "nothere.yaml"],
        ["nothere.yaml", "file not found"]),
    "instrument YAML syntax error": (
        lambda t: ["score", _good(t), "-i", _text(t, "broken.yaml", "id: x\nname: [oops\n")],
        ["broken.yaml, row", "not valid YAML"]),
    "instrument with an unknown field": (
        lambda t: ["score", _good(t), "-i", _instrument(t, "colour: red\n")],
        ["mine.yaml", "unknown field", "'colour' was unexpected"]),
    # ------------------------------------------------------------------ path tricks
    "output is a symlink to the input": (
        lambda t: ["score", _good(t), "-i", "teq", "-o", _link(t, "scores.csv", t / "good.csv")],
        ["scores.csv", "would overwrite the input"]),
    "output reaches the input through ..": (
        lambda t: ["score", _good(t), "-i", "teq", "-o", _sub(t) / ".." / "good.csv"],
        ["good.csv", "would overwrite the input"]),
    "output is the column map": (
        lambda t: ["score", _good(t), "-i", "teq", "--map",
                   _text(t, "map.yaml", "TEQ1: TEQ1\n"), "-o", t / "map.yaml"],
        ["map.yaml", "would overwrite the input"]),
    "output is the instrument file": (
        lambda t: ["score", _good(t), "-i", _instrument(t), "-o", t / "mine.yaml"],
        ["mine.yaml", "would overwrite the input"]),
    "output is someone's workbook": (
        lambda t: ["score", _good(t), "-i", "teq", "-o",
                   _book(t, {"budget": [["a", 1]]}, "budget.xlsx")],
        ["budget.xlsx", "not written by empathy-metrics"]),
    "output folder is a file": (
        lambda t: ["score", _good(t), "-i", "teq", "-o", _text(t, "afile", "x") / "out.csv"],
        ["afile/out.csv", "is a file, not a folder"]),
    "plot in an unsupported format": (
        lambda t: ["trend", _good(t), "-i", "teq", "--time", "TEQ1", "--plot", t / "p.gif"],
        ["p.gif", "unsupported output format '.gif'"]),
    "time column not found": (
        lambda t: ["trend", _good(t), "-i", "teq", "--time", "wave"],
        ["good.csv", "column 'wave'", "time column 'wave' not found"]),
    "report in an unsupported format": (
        lambda t: ["report", _good(t), "-i", "teq", "--time", "TEQ1", "-o", t / "r.docx"],
        ["r.docx", "unsupported output format"]),
    "report tables folder holds the input": (
        lambda t: ["report", _input_in_tables(t), "-i", "teq", "--time", "TEQ1", "-o",
                   t / "r.html"],
        ["r_tables", "holds the input"]),
    "validate --time without --id-col": (
        lambda t: ["validate", _good(t), "-i", "teq", "--time", "TEQ1"],
        ["--time needs --id-col"]),
}


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and not p.is_symlink()
                                         else None)
            for p in sorted(folder.rglob("*"))}


def _check(kind: str, code: int, stderr: str, stdout: str, before, after) -> None:
    assert code == 2, (kind, code, stderr, stdout)
    for fragment in CATALOGUE[kind][1]:
        assert fragment in stderr, (kind, fragment, stderr)
    assert stderr.startswith("Error: ") and len(stderr.strip().splitlines()) == 1, stderr
    assert re.search(r"\(.+\)$", stderr.strip()), f"no hint: {stderr}"
    assert "Traceback" not in stderr + stdout
    assert after == before, "a file was written or an input changed"


def test_the_catalogue_has_at_least_40_kinds():
    assert len(CATALOGUE) + len(FIRST_CASES) >= 40
    assert not set(CATALOGUE) & set(FIRST_CASES)


@pytest.mark.parametrize("kind", sorted(CATALOGUE))
def test_bad_input_cli_runner(kind, tmp_path):
    argv = [str(a) for a in CATALOGUE[kind][0](tmp_path)]
    before = _snapshot(tmp_path)
    res = CliRunner().invoke(cli, argv)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    _check(kind, res.exit_code, res.stderr, res.stdout, before, _snapshot(tmp_path))


SUBPROCESS_KINDS = ["NUL byte in a row", "formula in an answer", "several sheets, none chosen",
                    "output is a symlink to the input", "report tables folder holds the input",
                    "column map invalid YAML"]


@pytest.mark.parametrize("kind", SUBPROCESS_KINDS)
def test_bad_input_subprocess(kind, tmp_path):
    argv = [str(a) for a in CATALOGUE[kind][0](tmp_path)]
    before = _snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "empathy_metrics", *argv],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    _check(kind, proc.returncode, proc.stderr, proc.stdout, before, _snapshot(tmp_path))
