"""Extending without files: instruments from a dict, from code, from a list of columns."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import empathy_metrics as em
from empathy_metrics.errors import InstrumentError
from empathy_metrics.instruments import (
    Instrument,
    Item,
    load_instrument,
    resolve_instrument,
)

ROOT = Path(__file__).resolve().parents[1]
BFI = pd.read_csv(ROOT / "tests" / "reference" / "data" / "bfi.csv")
AGREE = ["A1", "A2", "A3", "A4", "A5"]

MY_SCALE = {
    "id": "my-scale",
    "name": "My scale",
    "response_scale": {"min": 1, "max": 6},
    "items": [{"id": "A1", "reverse": True}, {"id": "A2"}, {"id": "A3"}, {"id": "A4"},
              {"id": "A5"}],
    "scoring": {"method": "mean", "max_missing": 1},
}


def test_load_instrument_takes_a_dict_without_citation_or_license():
    inst = load_instrument(MY_SCALE)
    assert inst.id == "my-scale" and inst.reverse_items == ["A1"]
    assert inst.citation == "" and inst.license == ""
    assert "citation" not in inst.to_dict()
    # the dict is validated like a file: the error names the field
    bad = {**MY_SCALE, "scoring": {"method": "median"}}
    with pytest.raises(InstrumentError, match=r"field 'scoring\.method'"):
        load_instrument(bad)
    # a dict round-trips through to_dict
    assert load_instrument(inst.to_dict()) == inst


def test_instrument_constructible_in_code_with_the_same_checks():
    inst = Instrument(id="x", name="X", items=["Q1", {"id": "Q2", "reverse": True},
                                               Item("Q3")],
                      response_min=1, response_max=5, subscales={"a": ["Q1", "Q2"]})
    assert inst.items[1] == Item("Q2", reverse=True)
    assert inst.subscales == {"a": ("Q1", "Q2")}
    assert inst.scales == {"a": ["Q1", "Q2"], "total": ["Q1", "Q2", "Q3"]}
    with pytest.raises(InstrumentError, match=r"subscale 'a' names unknown item 'Q9'"):
        Instrument(id="x", name="X", items=["Q1"], response_min=1, response_max=5,
                   subscales={"a": ["Q9"]})
    with pytest.raises(InstrumentError, match=r"item id 'Q1' is used twice"):
        Instrument(id="x", name="X", items=["Q1", "Q1"], response_min=1, response_max=5)
    with pytest.raises(InstrumentError, match=r"min \(5\) must be smaller than max \(1\)"):
        Instrument(id="x", name="X", items=["Q1"], response_min=5, response_max=1)
    with pytest.raises(InstrumentError, match=r"expected an item id"):
        Instrument(id="x", name="X", items=[3.5], response_min=1, response_max=5)


def test_per_scale_max_missing_in_dict_and_code():
    inst = load_instrument({**MY_SCALE, "subscales": {"first": ["A1", "A2"]},
                            "scoring": {"method": "sum", "max_missing": {"total": "40%"}}})
    assert inst.max_missing_for("total") == 2 and inst.max_missing_for("first") == 0
    with pytest.raises(InstrumentError, match=r"scoring\.max_missing\.nope.*not a scale"):
        load_instrument({**MY_SCALE, "scoring": {"method": "sum", "max_missing": {"nope": 1}}})
    with pytest.raises(InstrumentError, match=r"scoring\.max_missing\.total"):
        Instrument(id="x", name="X", items=["Q1", "Q2"], response_min=1, response_max=5,
                   max_missing={"total": -1})
    # scoring applies the per-scale allowance: one skipped item of 5 is fine on the total
    # (40 % of 5 = 2) while the 2-item subscale allows none
    df = pd.DataFrame({"A1": [1, 2], "A2": [np.nan, 3], "A3": [4, 4], "A4": [4, 5],
                       "A5": [5, np.nan]})
    scores = em.score(df, inst).scores
    assert np.isnan(scores.loc[0, "first"]) and scores.loc[1, "first"] == (7 - 2) + 3
    assert scores.loc[0, "total"] == pytest.approx(5 * np.mean([6, 4, 4, 5]))


def test_bundled_instruments_must_carry_citation_and_license(monkeypatch, tmp_path):
    from empathy_metrics import instruments as mod

    (tmp_path / "nocite.yaml").write_text(
        "id: nocite\nname: N\nresponse_scale: {min: 1, max: 5}\nitems: [{id: Q1}, {id: Q2}]\n"
        "scoring: {method: sum}\n")
    monkeypatch.setattr(mod, "_bundled_dir", lambda: tmp_path)
    mod._load_bundled.cache_clear()
    try:
        with pytest.raises(InstrumentError, match=r"nocite\.yaml \(bundled\).*citation"):
            load_instrument("nocite")
    finally:
        mod._load_bundled.cache_clear()


def test_a_list_of_columns_is_one_scale_wherever_an_instrument_is():
    inst = resolve_instrument(AGREE, BFI)
    assert list(inst.scales) == ["total"] and inst.reverse_items == []
    assert (inst.response_min, inst.response_max) == (1, 6)
    # pingouin's habit: reliability(df, [columns]); psych keys "-A1" reverse an item
    plain = em.reliability(BFI, AGREE, omega=False)["total"]
    keyed = em.reliability(BFI, ["-A1", *AGREE[1:]], omega=False)["total"]
    items = BFI[AGREE].dropna().to_numpy(float)
    k = items.shape[1]
    alpha = k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(1).var(ddof=1))
    assert plain.alpha == pytest.approx(alpha, abs=1e-12)
    items[:, 0] = 7 - items[:, 0]
    alpha_k = k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(1).var(ddof=1))
    assert keyed.alpha == pytest.approx(alpha_k, abs=1e-12)
    assert keyed.alpha == pytest.approx(0.70, abs=0.005)  # psych::alpha(bfi[1:5], keys)
    sc = em.score(BFI.head(3), AGREE).scores["total"]
    np.testing.assert_allclose(sc, BFI.head(3)[AGREE].sum(axis=1))
    assert em.cfa(BFI, ["-A1", *AGREE[1:]]).fit["df"] == 5


def test_a_list_of_columns_errors_are_clear():
    with pytest.raises(InstrumentError, match=r"column 'Z9' not found"):
        em.reliability(BFI, ["A1", "Z9"])
    with pytest.raises(InstrumentError, match=r"needs the data"):
        resolve_instrument(["A1", "A2"])
    with pytest.raises(InstrumentError, match=r"non-numeric"):
        resolve_instrument(["a", "b"], pd.DataFrame({"a": ["x", "y"], "b": [1, 2]}))
    with pytest.raises(InstrumentError, match=r"got int"):
        load_instrument(3)


def test_from_columns_uses_the_given_range_for_reverse_keying():
    inst = Instrument.from_columns(AGREE, response_min=1, response_max=6, reverse=["A1"])
    keyed = em.keyed_items(BFI.head(2), inst)
    np.testing.assert_array_equal(keyed["A1"], 7 - BFI.head(2)["A1"])
    with pytest.raises(InstrumentError, match=r"not among the columns"):
        Instrument.from_columns(AGREE, response_min=1, response_max=6, reverse=["C1"])


def test_user_defined_scoring_rule_example_of_the_readme(monkeypatch):
    """The README's example of a scoring rule of one's own runs and gives what it says."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- example: own-scoring-rule -->\n```python\n(.*?)```", text, re.S)
    assert block, "the README lost its scoring-rule example"
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # noqa: S102
    top_box = namespace["top_box"]
    keyed = em.keyed_items(BFI, namespace["mine"])
    expected = (keyed >= 5).sum(axis=1) / keyed.notna().sum(axis=1)
    expected[keyed.notna().sum(axis=1) < 4] = np.nan
    pd.testing.assert_series_equal(top_box, expected, check_names=False)


def test_bundled_definitions_load_from_a_clone_root_without_any_install_mapping():
    """`pip install .` then Python in the clone's root imports the source tree: the bundled
    YAMLs must be found there too (the editable-install finder is removed to mimic it)."""
    code = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path
                    if "editable" not in getattr(f, "__module__", "").lower()]
import empathy_metrics as em
assert em.__file__.startswith(sys.argv[1]), em.__file__
print(em.load_instrument("jse-s").id, len(em.list_instruments()))
"""
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["jse-s", "7"]


def test_the_wheel_ships_the_bundled_definitions_and_py_typed():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert conf["packages"]["find"]["include"] == ["empathy_metrics*"]
    data = conf["package-data"]
    assert "py.typed" in data["empathy_metrics"]
    assert (ROOT / "empathy_metrics" / "py.typed").exists()
    folder = ROOT / "empathy_metrics" / "_instruments"
    assert (folder / "__init__.py").exists()  # a package, so find() ships it
    shipped = {p.name for pat in data["empathy_metrics._instruments"] for p in folder.glob(pat)}
    assert {"schema.json", "jse-s.yaml", "iri.yaml", "care.yaml", "teq.yaml"} <= shipped
