"""Engine behind :mod:`empathy_metrics.cfa`: lavaan-style CFA by maximum likelihood.

Modules, one job each:

* :mod:`.syntax` -- lavaan model syntax (the measurement subset) -> :class:`ModelSpec`;
* :mod:`.structure` -- parameter layout (free, fixed, equal), implied moments, derivatives;
* :mod:`.samples` / :mod:`.missing` -- sample statistics, missing-data patterns, EM for H1;
* :mod:`.estimate` -- ML / FIML estimation (Fisher scoring + Newton), standard errors;
* :mod:`.robust` -- MLR: Huber-White standard errors and the Yuan-Bentler scaled test;
* :mod:`.fit` -- fit measures as lavaan's ``fitMeasures``;
* :mod:`.modindices` -- modification indices and score tests (``modindices``,
  ``lavTestScore``);
* :mod:`.ordinal_model` / :mod:`.dwls` -- ordered items (delta parameterization) and WLSMV
  (DWLS, robust SEs, scaled-shifted test); the sample statistics come from
  :mod:`.ordinal_stats`.

Reference: Rosseel Y (2012). lavaan: an R package for structural equation modeling. *J Stat
Softw* 48(2); lavaan 0.6 source (``lav_model_estimate``, ``lav_mvnorm_missing``,
``lav_test_yuan_bentler``, ``lav_fit_*``, ``lav_modification``, ``lav_test_score``).
"""

from __future__ import annotations

from .dwls import OrdinalEstimate, fit_dwls
from .estimate import Estimate, fit_model
from .fiml import fit_nested
from .fit import FIT_KEYS, SCALED_KEYS, baseline, fit_measures, fit_measures_wlsmv
from .ordinal_model import OrdinalStructure
from .samples import Block, GroupStats, check_sample, group_stats
from .structure import Structure
from .syntax import ModelSpec, parse_model

__all__ = [
    "fit_nested",
    "ModelSpec",
    "parse_model",
    "Structure",
    "Block",
    "GroupStats",
    "Estimate",
    "fit_model",
    "fit_measures",
    "fit_measures_wlsmv",
    "OrdinalStructure",
    "OrdinalEstimate",
    "fit_dwls",
    "baseline",
    "group_stats",
    "check_sample",
    "FIT_KEYS",
    "SCALED_KEYS",
]
