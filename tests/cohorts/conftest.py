"""Shared data and tolerances of the cohort tests: trend() against R (lme4, effectsize, stats) on
tests/reference/data/decline_sim.csv (tests/reference/cohorts.R)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from empathy_metrics.cohorts import trend

REF = Path(__file__).parent.parent / "reference"
#: lme4 (default optimiser) vs our engine: the issue asks for 1e-3 relative (observed 1e-4).
RTOL_LMER = 1e-3
#: closed-form statistics agree to rounding.
RTOL_EXACT = 1e-9
#: noncentral-t limits vs R uniroot(tol = 1e-13) in tests/reference/cohorts.R.
RTOL_NCT = 1e-8
#: vs effectsize 0.8.3, which finds the limits by Nelder-Mead (optim abstol 1e-9): ~1e-6 only.
ATOL_EFFECTSIZE = 1e-6
SCALES = ["perspective_taking", "compassionate_care", "standing_in_patients_shoes", "total"]

@pytest.fixture(scope="package")
def ref():
    return json.loads((REF / "cohorts.json").read_text())


@pytest.fixture(scope="package")
def raw():
    return pd.read_csv(REF / "data" / "decline_sim.csv")


@pytest.fixture(scope="package")
def result(raw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no degenerate-data warnings on this data set
        return trend(raw, "jse-s", time="year", id="id", cohort="cohort", group="gender")
