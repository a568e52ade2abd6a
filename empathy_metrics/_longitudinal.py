"""Longitudinal measurement invariance: the same respondents at several occasions.

When respondent ids repeat across the occasions of the time column, the occasions are not
independent groups. Following the longitudinal practice of semTools (``measEq.syntax`` with
``longFacNames``; Widaman, Ferrer & Conger 2010; Liu et al. 2017), the data are reshaped to
one row per respondent and one model holds every occasion:

* a factor per scale and occasion (``F_1, F_2, ...``) measured by that occasion's items
  (``x1_1, x1_2, ...``), all factor covariances free (within and across occasions);
* each item's residuals correlated across every pair of occasions (the item-specific part a
  respondent carries from year to year);
* *configural*: loadings (first loading 1 per occasion), intercepts free, latent means 0;
* *metric*: each loading equal across occasions;
* *scalar*: also each intercept equal across occasions; latent means free after the first
  occasion (fixed at 0 at the first).

Respondents missing at an occasion have missing values there: with ``missing = "fiml"`` they
still count (recommended; attrition is usually large), with ``"listwise"`` only respondents
with every answer at every occasion are used.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _cfa_input as _input
from . import _sem
from ._sem import ModelSpec
from .errors import DataError, InputError

__all__ = ["repeated_ids", "wide_frame", "longitudinal_spec", "MAX_WIDE"]

#: Largest number of wide variables (items x occasions) fitted: beyond it the model has
#: hundreds of parameters and full-information estimation takes minutes or more.
MAX_WIDE = 40


def repeated_ids(responses: pd.DataFrame, id_col: str, time: str,
                 source: str | None) -> bool:
    """Whether any id appears at two or more occasions (checks that the columns exist)."""
    for col in (id_col, time):
        if col not in responses.columns:
            raise InputError(f"column '{col}' not found", file=source, column=col,
                             hint=f"columns are {', '.join(map(str, responses.columns[:30]))}")
    ok = responses[id_col].notna() & responses[time].notna()
    per_id = responses.loc[ok].groupby(responses.loc[ok, id_col])[time].nunique()
    return bool((per_id > 1).any())


def _suffix(label: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", str(label))


def wide_frame(responses: pd.DataFrame, frame: pd.DataFrame, spec: ModelSpec, time: str,
               id_col: str, source: str | None) -> tuple[pd.DataFrame, list[Any], dict, int]:
    """One row per respondent, columns ``item_time``; the occasions, respondents with an
    answer per occasion, and rows dropped (no id or no time).

    Raises
    ------
    InputError
        A respondent has two rows at the same occasion (names the rows).
    """
    ok = (responses[id_col].notna() & responses[time].notna()).to_numpy()
    n_dropped = int((~ok).sum())
    labels, times = _input.sorted_labels(responses.loc[ok, time])
    data = frame.loc[ok].copy()
    data["__id"] = responses.loc[ok, id_col].to_numpy()
    data["__time"] = labels.to_numpy()
    dup = data.duplicated(["__id", "__time"], keep=False)
    if dup.any():
        first = data[dup].iloc[0]
        pos = np.flatnonzero(ok)[np.flatnonzero(dup.to_numpy())[:2]]
        row0 = int(responses.attrs.get("first_row", 2))
        raise InputError(
            f"respondent '{first['__id']}' has more than one row at {time} = "
            f"{first['__time']} (rows {row0 + pos[0]} and {row0 + pos[1]})",
            file=source, column=id_col,
            hint="each respondent may answer once per occasion; remove the duplicate")
    any_answer = data[spec.observed].notna().to_numpy().any(axis=1)
    at = data["__time"].to_numpy()
    answered = {t: int(any_answer[at == t].sum()) for t in times}
    wide = data.pivot(index="__id", columns="__time", values=spec.observed)
    wide.columns = [f"{v}_{_suffix(t)}" for v, t in wide.columns]
    cols = [f"{v}_{_suffix(t)}" for t in times for v in spec.observed]
    wide = wide.reindex(columns=cols)
    if len(times) < 2:
        raise DataError(f"'{time}' has {len(times)} occasion(s); longitudinal invariance needs "
                        "at least two", file=source, column=time)
    n_wide = len(spec.observed) * len(times)
    if n_wide > MAX_WIDE:
        raise DataError(
            f"the longitudinal model would have {n_wide} variables ({len(spec.observed)} "
            f"items x {len(times)} occasions of '{time}'), more than the {MAX_WIDE} this "
            "toolkit fits in one model", file=source, column=time,
            hint="test one subscale at a time (a model with its items), or fewer occasions; "
                 "leaving out the id gives the multi-group approximation")
    return wide, times, answered, n_dropped


def longitudinal_spec(spec: ModelSpec, times: Sequence[Any], level: str) -> ModelSpec:
    """The wide model at ``level`` (configural, metric, scalar); see the module docstring."""
    sfx = [_suffix(t) for t in times]
    factors: list[str] = []
    indicators: dict[str, list[str]] = {}
    observed: list[str] = []
    labels: dict = {}
    free: set = set()
    for f in spec.factors:  # factor-major order (E_1, E_2, ..., C_1, ...), as lavaan's output
        for s in sfx:
            name = f"{f}_{s}"
            factors.append(name)
            indicators[name] = [f"{v}_{s}" for v in spec.indicators[f]]
            for k, v in enumerate(spec.indicators[f]):
                if level != "configural" and k > 0:
                    labels[(name, "=~", f"{v}_{s}")] = f"L_{f}_{v}"
                if f"{v}_{s}" not in observed:
                    observed.append(f"{v}_{s}")
    residual = [(f"{v}_{a}", f"{v}_{b}") for v in spec.observed
                for i, a in enumerate(sfx) for b in sfx[i + 1:]]
    residual += [(f"{a}_{s}", f"{b}_{s}") for s in sfx for a, b in spec.residual_covariances]
    if level == "scalar":
        for s in sfx:
            for v in spec.observed:
                labels[(f"{v}_{s}", "~1", "")] = f"I_{v}"
        free = {(f"{f}_{s}", "~1", "") for s in sfx[1:] for f in spec.factors}
    out = ModelSpec(factors, indicators, observed, residual, labels=labels, free=free)
    out.check()
    return out


def fit_levels(wide: pd.DataFrame, spec: ModelSpec, times: Sequence[Any], missing: str,
               estimator: str) -> tuple[dict[str, _sem.Estimate], dict[str, ModelSpec], int]:
    """The configural, metric and scalar longitudinal fits (and respondents used)."""
    levels = ("configural", "metric", "scalar")
    specs = {level: longitudinal_spec(spec, times, level) for level in levels}
    first = specs["configural"]
    stats_g, _ = _input.single_data(wide[first.observed], first, missing)
    if stats_g[0].missing:
        # one parameter space holds all three (configural + the scalar model's latent means):
        # each level starts from the previous estimate, see _sem.fiml.fit_nested
        union = dataclasses.replace(first, free=set(specs["scalar"].free))
        fits = _sem.fit_nested([specs[level] for level in levels], stats_g, union,
                               estimator=estimator)
        return dict(zip(levels, fits, strict=True)), specs, stats_g[0].n
    ests = {level: _sem.fit_model(specs[level], stats_g, meanstructure=True,
                                  estimator=estimator) for level in levels}
    return ests, specs, stats_g[0].n
