"""`empathy instruments` and `empathy instruments show` through CliRunner and subprocesses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from empathy_metrics.cli import cli
from empathy_metrics.instruments import list_instruments, load_instrument

from .test_instruments import BFI_A_C_YAML


def empathy_script() -> str:
    """The `empathy` console script installed beside this interpreter."""
    beside = Path(sys.executable).with_name("empathy")
    found = str(beside) if beside.exists() else shutil.which("empathy")
    assert found, "the empathy console script is not installed (pip install -e .)"
    return found


def run(args):
    return CliRunner().invoke(cli, args)


def test_list_table_has_every_instrument_and_the_columns():
    res = run(["instruments"])
    assert res.exit_code == 0, res.output
    header = res.output.splitlines()[0].split()
    assert header == ["id", "name", "items", "scales", "licence"]
    for inst in list_instruments():
        line = next(ln for ln in res.output.splitlines() if ln.startswith(inst.id + " "))
        assert inst.name in line and f" {len(inst.items)} " in line
        assert ", ".join(inst.scales) in line
    assert "Thomas Jefferson University" in res.output


def test_list_json():
    res = run(["instruments", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    by_id = {r["id"]: r for r in rows}
    assert sorted(by_id) == ["care", "iri", "jse-hp", "jse-hps", "jse-s", "jsppe", "teq"]
    assert by_id["iri"]["items"] == 28 and by_id["iri"]["scales"] == [
        "perspective_taking", "fantasy", "empathic_concern", "personal_distress"]
    assert by_id["jse-s"]["scales"][-1] == "total"
    assert by_id["care"]["license"] == load_instrument("care").license


def test_show_human_view():
    res = run(["instruments", "show", "jse-s"])
    assert res.exit_code == 0, res.output
    out = res.output
    lines = out.splitlines()
    item_lines = [ln.split() for ln in lines if ln.strip().split(" ")[0].isdigit()
                  and "JSE" in ln]
    assert [int(parts[0]) for parts in item_lines] == list(range(1, 21))
    reversed_numbers = [int(p[0]) for p in item_lines if p[2] == "R"]
    assert reversed_numbers == [1, 3, 6, 7, 8, 11, 12, 14, 18, 19]
    assert "reverse-keyed: 1, 3, 6, 7, 8, 11, 12, 14, 18, 19" in out
    assert "Compassionate Care [compassionate_care] (8 items, range 8-56): JSE1, JSE7" in out
    assert "Total [total] (20 items, range 20-140)" in out
    assert "may skip: perspective_taking 2, compassionate_care 1, " \
           "standing_in_patients_shoes 0, total 4" in out
    assert "Hojat M, Mangione S" in out and "Licence:" in out and "Norms:" in out
    assert "mean 116.54, SD 10.85, n = 6009" in out
    iri = run(["instruments", "show", "iri"]).output
    assert "(no total score)" in iri and "0 = A (does not describe me well)" in iri


def test_show_json_is_the_definition_with_the_yaml_fields():
    for inst in list_instruments():
        res = run(["instruments", "show", inst.id, "--format", "json"])
        assert res.exit_code == 0, res.output
        d = json.loads(res.output)
        assert d == json.loads(json.dumps(inst.to_dict()))
        assert [it["id"] for it in d["items"]] == inst.item_ids
        assert [it.get("reverse", False) for it in d["items"]] == [
            it.reverse for it in inst.items]


def test_show_accepts_a_yaml_path_and_an_item_text_overlay(tmp_path):
    path = tmp_path / "bfi-a-c.yaml"
    path.write_text(BFI_A_C_YAML)
    res = run(["instruments", "show", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    original = yaml.safe_load(BFI_A_C_YAML)
    assert d["items"] == original["items"]
    assert d["subscales"] == original["subscales"]
    assert d["scoring"]["method"] == "mean" and d["scoring"]["max_missing"] == 1
    assert d["response_scale"]["labels"] == {str(k): v for k, v in
                                              original["response_scale"]["labels"].items()}
    human = run(["instruments", "show", str(path)]).output
    assert f"Definition file: {path}" in human
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("items:\n  A1: placeholder wording\n")
    res = run(["instruments", "show", str(path), "--item-text", str(overlay)])
    assert res.exit_code == 0 and "placeholder wording" in res.output
    assert "Item text is not shipped" not in res.output


def test_show_errors_exit_2_naming_file_and_field(tmp_path):
    res = run(["instruments", "show", "jse"])
    assert res.exit_code == 2 and "unknown instrument 'jse'" in res.stderr
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load(BFI_A_C_YAML)
    data["subscales"]["agreeableness"].append("A9")
    bad.write_text(yaml.safe_dump(data))
    res = run(["instruments", "show", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}: field 'subscales.agreeableness[5]'" in res.stderr
    assert "unknown item 'A9'" in res.stderr and "Traceback" not in res.output
    overlay = tmp_path / "o.yaml"
    overlay.write_text("JSE99: x\n")
    res = run(["instruments", "show", "jse-s", "--item-text", str(overlay)])
    assert res.exit_code == 2 and "o.yaml" in res.stderr and "JSE99" in res.stderr


@pytest.mark.parametrize("args", [["instruments"], ["instruments", "show"]])
def test_help_has_an_example(args):
    res = run([*args, "--help"])
    assert res.exit_code == 0 and "Example" in res.output and "empathy instruments" in res.output


@pytest.mark.parametrize("launcher", ["module", "script"])
def test_subprocess_list_and_show(launcher):
    prefix = ([sys.executable, "-m", "empathy_metrics"] if launcher == "module"
              else [empathy_script()])
    proc = subprocess.run([*prefix, "instruments", "show", "teq", "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["items"][1] == {"id": "TEQ2", "number": 2, "reverse": True}
    proc = subprocess.run([*prefix, "instruments"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "jsppe" in proc.stdout
    proc = subprocess.run([*prefix, "instruments", "show", "nope"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "unknown instrument 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
