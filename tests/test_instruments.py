"""Instrument definitions: bundled keys against the shared reference, loading, validation."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml

from empathy_metrics.errors import InstrumentError
from empathy_metrics.instruments import (
    instrument_from_dict,
    list_instruments,
    load_instrument,
    normalise_label,
)
from empathy_metrics.scoring import score

REPO = Path(__file__).resolve().parents[1]
BFI = REPO / "tests" / "reference" / "data" / "bfi.csv"

#: The user-written example of issue 2, verbatim (comments included).
BFI_A_C_YAML = """\
id: bfi-a-c
name: Agreeableness and Conscientiousness (IPIP items)
citation: Goldberg 1999
license: public domain
response_scale:
  min: 1
  max: 6
  labels: {1: Very inaccurate, 2: Moderately inaccurate, 3: Slightly inaccurate,
           4: Slightly accurate, 5: Moderately accurate, 6: Very accurate}
items:
  - {id: A1, reverse: true}
  - {id: A2}
  - {id: A3}
  - {id: A4}
  - {id: A5}
  - {id: C1}
  - {id: C2}
  - {id: C3}
  - {id: C4, reverse: true}
  - {id: C5, reverse: true}
subscales:
  agreeableness: [A1, A2, A3, A4, A5]
  conscientiousness: [C1, C2, C3, C4, C5]
total: false
scoring:
  method: mean        # sum | mean
  max_missing: 1      # items a respondent may skip per scale; each is replaced by that
                      # respondent's mean of the scale's answered items
"""

# ------------------------------------------------ facts of /work/shared/instruments.md
# Item numbers are 1-based positions in the published form.
JSE_FACTS = {
    "n_items": 20, "min": 1, "max": 7,
    "reverse": [1, 3, 6, 7, 8, 11, 12, 14, 18, 19],
    "subscales": {
        "perspective_taking": [2, 4, 5, 9, 10, 13, 15, 16, 17, 20],
        "compassionate_care": [1, 7, 8, 11, 12, 14, 18, 19],
        "standing_in_patients_shoes": [3, 6],
    },
    "total": True, "range": (20, 140), "allow_total": 4,
}
FACTS = {
    "jse-s": JSE_FACTS,
    "jse-hp": JSE_FACTS,
    "jse-hps": JSE_FACTS,
    "jsppe": {"n_items": 5, "min": 1, "max": 7, "reverse": [], "subscales": {},
              "total": True, "range": (5, 35)},
    "care": {"n_items": 10, "min": 1, "max": 5, "reverse": [], "subscales": {},
             "total": True, "range": (10, 50), "allow_total": 2,
             "labels": {1: "Poor", 2: "Fair", 3: "Good", 4: "Very good", 5: "Excellent"}},
    "teq": {"n_items": 16, "min": 0, "max": 4, "reverse": [2, 4, 7, 10, 11, 12, 14, 15],
            "subscales": {}, "total": True, "range": (0, 64),
            "labels": {0: "Never", 1: "Rarely", 2: "Sometimes", 3: "Often", 4: "Always"}},
    "iri": {"n_items": 28, "min": 0, "max": 4, "reverse": [3, 15, 7, 12, 4, 14, 18, 13, 19],
            "subscales": {
                "perspective_taking": [3, 8, 11, 15, 21, 25, 28],
                "fantasy": [1, 5, 7, 12, 16, 23, 26],
                "empathic_concern": [2, 4, 9, 14, 18, 20, 22],
                "personal_distress": [6, 10, 13, 17, 19, 24, 27],
            },
            "total": False, "range": (0, 28)},
}


def test_every_issue_instrument_is_bundled():
    assert sorted(i.id for i in list_instruments()) == sorted(FACTS)


@pytest.mark.parametrize("inst_id", sorted(FACTS))
def test_bundled_key_matches_shared_reference(inst_id):
    facts = FACTS[inst_id]
    inst = load_instrument(inst_id)
    assert len(inst.items) == facts["n_items"]
    # published order: item k is at position k
    assert [it.number for it in inst.items] == list(range(1, facts["n_items"] + 1))
    by_number = {it.number: it for it in inst.items}
    assert sorted(n for n, it in by_number.items() if it.reverse) == sorted(facts["reverse"])
    assert (inst.response_min, inst.response_max) == (facts["min"], facts["max"])
    got_subscales = {name: sorted(next(it.number for it in inst.items if it.id == iid)
                                  for iid in ids)
                     for name, ids in inst.subscales.items()}
    assert got_subscales == {k: sorted(v) for k, v in facts["subscales"].items()}
    assert inst.total is facts["total"]
    scales = list(inst.scales)
    assert ("total" in scales) is facts["total"]
    for name in facts["subscales"]:
        k = len(facts["subscales"][name])
        assert inst.scale_range(name) == (k * facts["min"], k * facts["max"])
    main = "total" if facts["total"] else scales[0]
    assert inst.scale_range(main) == facts["range"]
    if "allow_total" in facts:
        assert inst.max_missing_for("total") == facts["allow_total"]
    if "labels" in facts:
        assert dict(inst.labels) == facts["labels"]
    assert inst.method == "sum"
    assert inst.citation and inst.license and inst.notes


def test_jse_versions_share_the_key_and_differ_in_respondents():
    s, hp, hps = (load_instrument(i) for i in ("jse-s", "jse-hp", "jse-hps"))
    for other in (hp, hps):
        assert other.items == s.items and other.subscales == s.subscales
        assert other.max_missing == s.max_missing == "20%"
        assert "Thomas Jefferson University" in other.license
    assert len({s.respondent, hp.respondent, hps.respondent}) == 3


def test_jse_missing_rule_and_care_rule_are_settings_documented_in_notes():
    jse = load_instrument("jse-s")
    assert [jse.max_missing_for(s) for s in jse.scales] == [2, 1, 0, 4]
    assert "could not be traced" in jse.notes and "max_missing" in jse.notes
    care = load_instrument("care")
    assert care.max_missing == 2 and care.max_missing_for("total") == 2
    assert [normalise_label(x) for x in care.missing_labels][0] == "does not apply"


def test_jse_s_norms_copied_from_the_cited_papers():
    jse = load_instrument("jse-s")
    national = jse.norms_for("total", "all")
    assert len(national) == 1
    assert (national[0].n, national[0].mean, national[0].sd) == (6009, 116.54, 10.85)
    assert "2018;23:899-920" in national[0].citation
    women, men = jse.norms_for("total", "women")[0], jse.norms_for("total", "men")[0]
    assert (women.mean, women.sd, men.mean, men.sd) == (116.2, 9.7, 112.3, 10.8)
    assert "2015;24:344-350" in men.citation and "2015;24:344-350" in women.citation


def test_no_item_text_is_shipped():
    folder = resources.files("empathy_metrics._instruments")
    for ref in folder.iterdir():
        if not ref.name.endswith(".yaml"):
            continue
        data = yaml.safe_load(ref.read_text(encoding="utf-8"))
        assert all("text" not in item for item in data["items"]), ref.name
    for inst in list_instruments():
        assert all(it.text is None for it in inst.items)


def test_bundled_yaml_files_validate_against_the_shipped_schema():
    folder = resources.files("empathy_metrics._instruments")
    schema = json.loads(folder.joinpath("schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    names = [r.name for r in folder.iterdir() if r.name.endswith(".yaml")]
    assert len(names) == 7
    for name in names:
        data = yaml.safe_load(folder.joinpath(name).read_text(encoding="utf-8"))
        data["response_scale"]["labels"] = {
            str(k): v for k, v in (data["response_scale"].get("labels") or {}).items()}
        assert not list(validator.iter_errors(data)), name


@pytest.mark.parametrize("inst_id", sorted(FACTS))
def test_to_dict_round_trips_with_items_in_published_order(inst_id):
    inst = load_instrument(inst_id)
    d = inst.to_dict()
    json.dumps(d)  # JSON-ready
    assert [it["id"] for it in d["items"]] == inst.item_ids
    again = instrument_from_dict(json.loads(json.dumps(d)), source="round-trip")
    assert again.items == inst.items and again.subscales == inst.subscales
    assert again.norms == inst.norms and again.labels == inst.labels
    assert again.max_missing == inst.max_missing and again.total == inst.total
    # the same fields as the YAML file
    raw = yaml.safe_load(resources.files("empathy_metrics._instruments")
                         .joinpath(f"{inst_id}.yaml").read_text(encoding="utf-8"))
    assert set(d) == set(raw) | {"scoring"}
    assert set(d["scoring"]) >= set(raw["scoring"])


# ---------------------------------------------------------------- the user's own YAML


@pytest.fixture
def bfi_yaml(tmp_path):
    path = tmp_path / "bfi-a-c.yaml"
    path.write_text(BFI_A_C_YAML, encoding="utf-8")
    return path


def test_issue_example_yaml_loads_as_is(bfi_yaml):
    inst = load_instrument(bfi_yaml)
    assert inst.id == "bfi-a-c" and inst.method == "mean" and inst.total is False
    assert inst.reverse_items == ["A1", "C4", "C5"]
    assert list(inst.scales) == ["agreeableness", "conscientiousness"]
    assert inst.labels[6] == "Very accurate"
    assert inst.max_missing_for("agreeableness") == 1
    assert inst.scale_range("agreeableness") == (1.0, 6.0)
    assert load_instrument(str(bfi_yaml)).item_ids == inst.item_ids


def test_issue_example_scores_bfi_like_an_independent_pandas_computation(bfi_yaml):
    data = pd.read_csv(BFI)
    result = score(data, load_instrument(bfi_yaml))
    items = {"agreeableness": ["A1", "A2", "A3", "A4", "A5"],
             "conscientiousness": ["C1", "C2", "C3", "C4", "C5"]}
    keyed = data.copy()
    for col in ["A1", "C4", "C5"]:
        keyed[col] = 7 - keyed[col]
    for scale, cols in items.items():
        block = keyed[cols]
        expected = block.mean(axis=1, skipna=True).where(block.isna().sum(axis=1) <= 1)
        np.testing.assert_allclose(result.scores[scale], expected, rtol=0, atol=1e-12)
    assert len(result.scores) == len(data) == 2800
    unscorable = (data[items["agreeableness"]].isna().sum(axis=1) > 1) | (
        data[items["conscientiousness"]].isna().sum(axis=1) > 1)
    assert result.scores["unscorable"].tolist() == unscorable.tolist()
    assert result.flag_counts()["unscorable"] == int(unscorable.sum()) > 0


def test_issue_example_reads_text_answers(bfi_yaml):
    inst = load_instrument(bfi_yaml)
    codes = pd.DataFrame({iid: [1, 6] for iid in inst.item_ids})
    texts = codes.replace({1: "very  INACCURATE ", 6: "Very accurate"})
    np.testing.assert_array_equal(score(texts, inst).scores[list(inst.scales)],
                                  score(codes, inst).scores[list(inst.scales)])


# ---------------------------------------------------------------- item-text overlay


def test_item_text_overlay_from_mapping_and_files(tmp_path):
    jse = load_instrument("jse-s")
    made_up = {"JSE1": "placeholder wording one", "JSE20": "placeholder wording twenty"}
    with_text = jse.with_item_text(made_up)
    assert with_text.items[0].text == "placeholder wording one"
    assert with_text.items[19].text == "placeholder wording twenty"
    assert all(it.text is None for it in with_text.items[1:19])
    assert all(it.text is None for it in jse.items)  # the original is unchanged
    assert with_text.items[0].reverse and with_text.subscales == jse.subscales
    assert with_text.to_dict()["items"][0]["text"] == "placeholder wording one"

    plain = tmp_path / "plain.yaml"
    plain.write_text("JSE1: placeholder wording one\nJSE20: placeholder wording twenty\n")
    nested = tmp_path / "nested.yaml"
    nested.write_text(yaml.safe_dump({"items": made_up}))
    for overlay in (plain, str(nested)):
        assert load_instrument("jse-s", item_text=overlay).items == with_text.items
    # a scored result does not depend on the wording
    data = pd.DataFrame({iid: [4, 5] for iid in jse.item_ids})
    pd.testing.assert_frame_equal(score(data, with_text).scores, score(data, jse).scores)


def test_item_text_overlay_errors_name_file_and_items(tmp_path):
    jse = load_instrument("jse-s")
    bad = tmp_path / "overlay.yaml"
    bad.write_text("JSE1: one\nJSE21: not an item\n")
    with pytest.raises(InstrumentError, match=r"overlay\.yaml.*unknown item\(s\) JSE21"):
        jse.with_item_text(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(InstrumentError, match=r"list\.yaml.*must map item ids to text"):
        jse.with_item_text(listy)
    with pytest.raises(InstrumentError, match=r"missing\.yaml: file not found"):
        jse.with_item_text(tmp_path / "missing.yaml")


# ---------------------------------------------------------------- validation errors


def _good() -> dict:
    return yaml.safe_load(BFI_A_C_YAML)


def _mutate(path_value):
    def apply(d):
        path, value = path_value
        target = d
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return d
    return apply


_DELETE = object()

BAD_DEFINITIONS = {
    "subscale names an unknown item": (
        (("subscales", "conscientiousness"), ["C1", "C2", "C9"]),
        r"field 'subscales\.conscientiousness\[2\]': subscale 'conscientiousness' names "
        r"unknown item 'C9'"),
    "missing required field": ((("name",), _DELETE), r"field '\(top level\)'.*'name'"),
    "unknown field": ((("scoring", "maxmissing"), 2), r"field 'scoring'.*unknown field"),
    "wrong type": ((("response_scale", "min"), "one"), r"field 'response_scale\.min'"),
    "bad method": ((("scoring", "method"), "median"), r"field 'scoring\.method'"),
    "min not below max": ((("response_scale", "max"), 1),
                          r"field 'response_scale': min \(1\) must be smaller than max \(1\)"),
    "label outside scale": ((("response_scale", "labels"), {0: "Never", 1: "x"}),
                            r"field 'response_scale\.labels\.0'"),
    "duplicate item": ((("items",), [{"id": "A1"}, {"id": "A1"}]),
                       r"field 'items\[1\]\.id': item id 'A1' is used twice"),
    "duplicate item number": ((("items",), [{"id": "A1", "number": 1}, {"id": "A2", "number": 1}]),
                              r"field 'items\[1\]\.number': item number 1 is used by 'A1' and "
                              r"'A2'"),
    "reserved total": ((("subscales",), {"total": ["A1"]}), r"field 'subscales\.total'"),
    "nothing to score": ((("subscales",), _DELETE), r"field 'total'.*nothing to score"),
    "bad percent": ((("scoring", "max_missing"), "20 percent"), r"field 'scoring\.max_missing'"),
    "norm for unknown scale": ((("norms",), [{"scale": "total", "mean": 1, "sd": 1,
                                              "citation": "x"}]),
                               r"field 'norms\[0\]\.scale'"),
    "subscale name for unknown subscale": ((("subscale_names",), {"openness": "Openness"}),
                                           r"field 'subscale_names\.openness'"),
}


@pytest.mark.parametrize("case", sorted(BAD_DEFINITIONS))
def test_bad_definition_error_names_file_and_field(case, tmp_path):
    change, pattern = BAD_DEFINITIONS[case]
    data = _mutate(change)(_good())
    path = tmp_path / "my-scale.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": "), message
    assert info.value.file == str(path)
    assert re.search(pattern, message), message


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text("id: x\nname: [unclosed\nitems: 3\n")
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    assert info.value.file == str(path) and info.value.row is not None
    assert "not valid YAML" in str(info.value)


def test_unknown_id_and_missing_file():
    with pytest.raises(InstrumentError, match=r"unknown instrument 'jse'.*jse-s"):
        load_instrument("jse")
    with pytest.raises(InstrumentError, match=r"nowhere\.yaml: file not found"):
        load_instrument("nowhere.yaml")


def test_a_user_yaml_in_latin1_loads(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(BFI_A_C_YAML.replace("Goldberg 1999", "Goldberg 1999, Zoë").encode("latin-1"))
    assert load_instrument(path).citation == "Goldberg 1999, Zoë"
