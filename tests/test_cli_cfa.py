"""`empathy cfa` and `empathy invariance` through click's CliRunner and a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from empathy_metrics.cli import cli

from .conftest import jse_sim_responses

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "cfa.json").read_text())
HS = REF_DIR / "data" / "HolzingerSwineford1939.csv"
#: the issue's tolerance for iterative quantities, absolute.
ITERATIVE_TOL = 1e-3


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Raw JSE-S answers rebuilt from jse_sim.csv (as cfa.R does), plus model files."""
    root = tmp_path_factory.mktemp("cfa")
    inst, raw = jse_sim_responses()
    raw["year"] = np.repeat([1, 2, 3], [167, 167, 166])
    jse = root / "jse.csv"
    raw[inst.item_ids + ["year"]].to_csv(jse, index=False)
    renamed = root / "renamed.csv"
    raw.rename(columns={f"JSE{i}": f"Q{i}" for i in range(1, 21)}).to_csv(renamed, index=False)
    mapping = root / "map.yaml"
    mapping.write_text("".join(f"JSE{i}: Q{i}\n" for i in range(1, 21)))
    hs_model = root / "hs.lav"
    hs_model.write_text("# lavaan's classic model\n" + REF["hs"]["model"])
    bad = root / "bad.lav"
    bad.write_text("visual =~ x1 + x2 + x3\n\ntextual ~ x4 + x5 + x6\n")
    return {"jse": jse, "renamed": renamed, "map": mapping, "hs_model": hs_model, "bad": bad}


def _assert_fit(fit, ref):
    assert fit["df"] == ref["df"]
    for key in ("chisq", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
        assert fit[key] == pytest.approx(ref[key], abs=ITERATIVE_TOL), key
    assert fit["rmsea_ci"] == pytest.approx([ref["rmsea_ci_lower"], ref["rmsea_ci_upper"]],
                                            abs=ITERATIVE_TOL)


def test_cfa_json_matches_lavaan(files):
    res = CliRunner().invoke(cli, ["cfa", str(files["jse"]), "-i", "jse-s", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out) == {"n", "estimator", "missing", "fit", "loadings"} and out["n"] == 500
    assert (out["estimator"], out["missing"]) == ("ml", "listwise")
    _assert_fit(out["fit"], REF["jse"]["fit"])
    ref = pd.DataFrame(REF["jse"]["params"]).query("op == '=~'")
    got = pd.DataFrame(out["loadings"])
    assert list(got["item"]) == list(ref["rhs"]) and list(got["factor"]) == list(ref["lhs"])
    np.testing.assert_allclose(got["estimate"], ref["est"], atol=ITERATIVE_TOL, rtol=0)
    np.testing.assert_allclose(got["std"], ref["std"], atol=ITERATIVE_TOL, rtol=0)
    free = got["se"].notna()
    np.testing.assert_allclose(got["se"][free], ref["se"][free.to_numpy()], atol=ITERATIVE_TOL)


def test_cfa_model_file_without_instrument_and_table(files):
    res = CliRunner().invoke(cli, ["cfa", str(HS), "--model", str(files["hs_model"])])
    assert res.exit_code == 0, res.output
    assert "CFI = 0.931" in res.output and "RMSEA = 0.092" in res.output
    assert "Loadings" in res.output and "speed" in res.output


def test_cfa_with_column_map(files):
    res = CliRunner().invoke(cli, ["cfa", str(files["renamed"]), "-i", "jse-s", "--map",
                                   str(files["map"]), "--format", "json"])
    assert res.exit_code == 0, res.output
    _assert_fit(json.loads(res.output)["fit"], REF["jse"]["fit"])


def test_cfa_bad_model_and_bad_usage_exit_2(files):
    runner = CliRunner()
    res = runner.invoke(cli, ["cfa", str(HS), "--model", str(files["bad"])])
    assert res.exit_code == 2
    assert "bad.lav: model line 3: operator '~' is not supported" in res.output
    res = runner.invoke(cli, ["cfa", str(HS)])
    assert res.exit_code == 2 and "give an instrument (-i INST) or a model file" in res.output
    res = runner.invoke(cli, ["cfa", str(HS), "--model", "nowhere.lav"])
    assert res.exit_code == 2 and "model file not found" in res.output
    res = runner.invoke(cli, ["cfa", str(files["jse"]), "-i", "jse-s", "--model",
                              str(files["hs_model"])])
    assert res.exit_code == 2 and "'x1' is not an item of instrument 'jse-s'" in res.output


def test_cfa_mlr_fiml_json_matches_lavaan(files):
    """--estimator mlr --missing fiml: lavaan cfa(missing = "ml", estimator = "MLR")."""
    ref = json.loads((REF_DIR / "cfa_missing.json").read_text())["hs_fiml_mlr"]
    res = CliRunner().invoke(cli, ["cfa", str(REF_DIR / "data" / "hs_missing.csv"), "--model",
                                   str(files["hs_model"]), "--estimator", "MLR", "--missing",
                                   "fiml", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert (out["n"], out["estimator"], out["missing"]) == (300, "mlr", "fiml")
    _assert_fit(out["fit"], ref["fit"])
    for key in ("chisq_scaled", "cfi_scaled", "tli_scaled", "rmsea_scaled"):
        assert out["fit"][key] == pytest.approx(ref["fit"][key], abs=ITERATIVE_TOL), key
    assert out["fit"]["df_scaled"] == ref["fit"]["df_scaled"]
    assert out["fit"]["rmsea_ci_scaled"] == pytest.approx(
        [ref["fit"]["rmsea_ci_lower_scaled"], ref["fit"]["rmsea_ci_upper_scaled"]],
        abs=ITERATIVE_TOL)
    table = CliRunner().invoke(cli, ["cfa", str(REF_DIR / "data" / "hs_missing.csv"), "--model",
                                     str(files["hs_model"]), "--estimator", "mlr", "--missing",
                                     "fiml"])
    assert table.exit_code == 0, table.output
    assert "full-information ML: every answer used; 1 with no answer dropped" in table.output
    assert "scaled: chi-square = 98.28" in table.output


def test_cfa_std_lv_and_bad_estimator(files):
    runner = CliRunner()
    res = runner.invoke(cli, ["cfa", str(HS), "--model", str(files["hs_model"]), "--std-lv",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    loads = pd.DataFrame(json.loads(res.output)["loadings"])
    assert loads["se"].notna().all()  # no marker: every loading estimated
    res = runner.invoke(cli, ["cfa", str(HS), "--model", str(files["hs_model"]),
                              "--estimator", "wls"])
    assert res.exit_code == 2 and "wlsmv" in res.output  # the choices are listed
    # WLSMV needs category codes: HS's test scores are continuous
    res = runner.invoke(cli, ["cfa", str(HS), "--model", str(files["hs_model"]),
                              "--estimator", "wlsmv"])
    assert res.exit_code == 2 and "row 2, column 'x1'" in res.output
    assert "integer category code" in res.output


def test_invariance_json_matches_lavaan(files):
    res = CliRunner().invoke(cli, ["invariance", str(files["jse"]), "-i", "jse-s", "--group",
                                   "year", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert list(out) == ["groups", "configural", "metric", "scalar", "comparisons", "partial",
                         "design", "estimator", "missing", "verdict"]
    assert out["design"] == "multigroup" and out["partial"] == {}
    assert out["groups"] == [1, 2, 3]
    ref = REF["jse_invariance"]
    for name in ("configural", "metric", "scalar"):
        _assert_fit(out[name], ref["fits"][name])
    diffs = [c["chisq_diff"] for c in out["comparisons"]]
    assert diffs == pytest.approx(ref["lrt"]["chisq_diff"], abs=ITERATIVE_TOL)
    assert out["verdict"].startswith("Scalar invariance holds across 'year'")


def test_invariance_longitudinal_with_id(files, tmp_path):
    """--id with repeated ids: one longitudinal model (lavaan reference in
    cfa_longitudinal.json), JSON design 'longitudinal'."""
    ref = json.loads((REF_DIR / "cfa_longitudinal.json").read_text())["fiml"]
    model = tmp_path / "ec.lav"
    model.write_text("E =~ x1 + x2 + x3\nC =~ x4 + x5 + x6\n")
    res = CliRunner().invoke(cli, ["invariance", str(REF_DIR / "data" / "longitudinal_sim.csv"),
                                   "--model", str(model), "--group", "year", "--id", "student",
                                   "--missing", "fiml", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["design"] == "longitudinal" and out["missing"] == "fiml"
    for name in ("configural", "metric", "scalar"):
        _assert_fit(out[name], ref["fits"][name])
    assert "one longitudinal model of the 500 respondents" in out["verdict"]


def test_invariance_partial_search_in_json(files):
    res = CliRunner().invoke(cli, ["invariance", str(HS), "--model", str(files["hs_model"]),
                                   "--group", "school", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["partial"]["scalar"]["freed"] == ["x3~1", "x7~1"]
    assert "x3, x7 are not comparable across 'school'" in out["verdict"]


def test_invariance_table_and_errors(files):
    runner = CliRunner()
    res = runner.invoke(cli, ["invariance", str(HS), "--model", str(files["hs_model"]),
                              "--group", "school", "--rmsea-cutoff", "0.015"])
    assert res.exit_code == 0, res.output
    assert "scalar vs metric" in res.output and "Metric invariance holds" in res.output
    assert "ΔRMSEA no larger than 0.015" in res.output
    res = runner.invoke(cli, ["invariance", str(HS), "--model", str(files["hs_model"]),
                              "--group", "county"])
    assert res.exit_code == 2 and "group column 'county' not found" in res.output
    res = runner.invoke(cli, ["invariance", str(HS), "--model", str(files["hs_model"])])
    assert res.exit_code == 2 and "--group" in res.output


def test_cfa_wlsmv_json_matches_lavaan(tmp_path):
    """--estimator wlsmv: lavaan's WLSMV fit measures, scaled ones included, in the JSON."""
    ref = json.loads((REF_DIR / "wlsmv.json").read_text())["hs"]
    model = tmp_path / "hs.lav"
    model.write_text(ref["model"])
    data = REF_DIR / "data" / "hs_quartiles.csv"
    res = CliRunner().invoke(cli, ["cfa", str(data), "--model", str(model), "--estimator",
                                   "wlsmv", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["estimator"] == "wlsmv" and out["n"] == 301
    for key in ("chisq", "chisq_scaled", "cfi_scaled", "tli_scaled", "rmsea_scaled", "srmr"):
        assert out["fit"][key] == pytest.approx(ref["fit"][key], abs=ITERATIVE_TOL), key
    assert out["fit"]["rmsea_ci_scaled"] == pytest.approx(
        [ref["fit"]["rmsea_ci_lower_scaled"], ref["fit"]["rmsea_ci_upper_scaled"]],
        abs=ITERATIVE_TOL)
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "cfa", str(data), "--model", str(model),
         "--estimator", "wlsmv", "--missing", "fiml"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "WLSMV uses complete cases" in proc.stderr and proc.stdout == ""


def test_subprocess_json_and_help(files):
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "invariance", str(HS), "--model",
         str(files["hs_model"]), "--group", "school", "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["groups"] == ["Grant-White", "Pasteur"]
    _assert_fit(out["scalar"], REF["hs_invariance"]["fits"]["scalar"])
    assert [c["holds"] for c in out["comparisons"]] == [True, False]
    proc = subprocess.run(
        [sys.executable, "-m", "empathy_metrics", "cfa", str(HS), "--model",
         str(files["bad"])],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and "model line 3" in proc.stderr
    assert "Traceback" not in proc.stderr
    for command in ("cfa", "invariance"):
        proc = subprocess.run([sys.executable, "-m", "empathy_metrics", command, "--help"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "Examples:" in proc.stdout
