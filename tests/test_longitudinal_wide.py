"""The longitudinal invariance model at the size the yearly report fits (issue 13 item 5):
one JSE-S subscale (10 items) over 4 training years = 40 wide variables, 783 students with
attrition and skipped items, full-information ML, against lavaan 0.6-14
(tests/reference/cfa_longitudinal_wide.R/json, data/demo_pt_panel.csv from `empathy demo`).
This is the case the fast FIML path (_sem/fiml.py: complete-data start, Newton steps, EM +
Newton saturated model) was built for; the smaller panel is in test_cfa_longitudinal.py."""

from __future__ import annotations

import json

import pandas as pd

from empathy_metrics.cfa import invariance

from .test_cfa import REF_DIR
from .test_cfa_longitudinal import _assert_matches

REF = json.loads((REF_DIR / "cfa_longitudinal_wide.json").read_text())
ITEMS = ["JSE2", "JSE4", "JSE5", "JSE9", "JSE10", "JSE13", "JSE15", "JSE16", "JSE17", "JSE20"]


def test_forty_variable_longitudinal_fiml_matches_lavaan():
    data = pd.read_csv(REF_DIR / "data" / "demo_pt_panel.csv")
    res = invariance(data, None, "year", model="PT =~ " + " + ".join(ITEMS),
                     id="student_id", missing="fiml")
    assert res.design == "longitudinal" and res.groups == [1, 2, 3, 4]
    assert res.n_ids == REF["n_ids"] == 783
    assert res.models["configural"].n == REF["fiml"]["fits"]["configural"]["n"]
    # every fit measure, parameter (estimate, SE, std.all) and LRT within 1e-3 of lavaan
    _assert_matches(res, REF["fiml"])
    assert res.sound == all(res.comparisons["holds"])
