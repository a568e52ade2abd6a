"""Input preparation for :mod:`empathy_metrics.cfa` and :func:`empathy_metrics.cfa.invariance`:
the model, the numeric item matrix, groups, missing-data handling and option checks.

Validation lives here, at the edge; the engine (:mod:`empathy_metrics._sem`) assumes clean
arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _sem
from ._sem import ModelSpec, parse_model
from .errors import DataError, InputError

__all__ = ["ESTIMATORS", "MISSING", "check_options", "prepare", "group_data", "single_data",
           "parse_partial", "ordinal_data", "check_wlsmv_equal", "WLSMV_STEPS"]

#: Estimators: normal-theory ML, ML with robust (Huber-White) SEs and Yuan-Bentler test,
#: WLSMV for ordered items (DWLS on polychorics, robust SEs, scaled-shifted test).
ESTIMATORS = ("ml", "mlr", "wlsmv")
#: group_equal steps allowed under WLSMV (Wu & Estabrook 2016 identification)
WLSMV_STEPS = ((), ("thresholds",), ("thresholds", "loadings"),
               ("thresholds", "loadings", "intercepts"))
#: Missing-data treatments: listwise deletion, full-information ML (ML/MLR), pairwise
#: (WLSMV: thresholds from every answer, polychorics from the pairs answered together).
MISSING = ("listwise", "fiml", "pairwise")


def check_options(estimator: str, missing: str) -> tuple[str, str]:
    """Normalise ``estimator`` and ``missing`` (case-insensitive; lavaan's ``"ml"`` for
    ``missing`` means FIML) or raise :class:`InputError`."""
    est = str(estimator).lower()
    if est not in ESTIMATORS:
        raise InputError(f"unknown estimator '{estimator}'",
                         hint=f"choose one of {', '.join(ESTIMATORS)}")
    miss = str(missing).lower()
    miss = {"ml": "fiml", "direct": "fiml", "complete": "listwise"}.get(miss, miss)
    if miss not in MISSING:
        raise InputError(f"unknown missing-data treatment '{missing}'",
                         hint="choose 'listwise' (complete cases), 'fiml' (full-information "
                              "maximum likelihood) or, with estimator 'wlsmv', 'pairwise'")
    if est == "wlsmv" and miss == "fiml":
        raise InputError("missing 'fiml' needs a likelihood: it works with estimator 'ml' or "
                         "'mlr'; WLSMV uses complete cases (listwise) or every pair of "
                         "answers (pairwise), as lavaan does for ordered items",
                         hint="use --missing listwise or pairwise with --estimator wlsmv, or "
                              "--estimator mlr with --missing fiml (items treated as "
                              "continuous)")
    if est != "wlsmv" and miss == "pairwise":
        raise InputError(f"missing 'pairwise' works with estimator 'wlsmv' only, not "
                         f"'{est}'",
                         hint="use --missing fiml for maximum likelihood with skipped answers")
    return est, miss


def check_wlsmv_equal(group_equal: Sequence[str]) -> tuple[str, ...]:
    """``group_equal`` under WLSMV must be one of the Wu & Estabrook (2016) steps."""
    eq = tuple(str(x) for x in group_equal)
    for step in WLSMV_STEPS:
        if sorted(eq) == sorted(step):
            return step
    raise InputError(
        f"group_equal {list(eq)} is not an ordinal invariance step",
        hint="with ordered items (WLSMV) use [], ['thresholds'], ['thresholds', 'loadings'] "
             "or ['thresholds', 'loadings', 'intercepts'] (Wu & Estabrook 2016)")


def ordinal_data(responses: pd.DataFrame, frame: pd.DataFrame, spec: ModelSpec,
                 group: str | None, source: str | None, missing: str = "listwise"
                 ) -> tuple[list[Any], list[Any] | None, int]:
    """Ordinal sample statistics per group, group labels, rows dropped.

    The thresholds, polychoric correlations and their asymptotic covariance come from
    :func:`empathy_metrics._sem.ordinal_stats.ordinal_sample_stats` (lavaan's two-step
    estimates and NACOV), from complete cases (``missing = "listwise"``) or every answer
    (``"pairwise"``)."""
    from ._sem.ordinal_stats import ordinal_sample_stats

    data = frame.copy()
    data.attrs["source"] = source
    if group is not None:
        if group not in responses.columns:
            raise InputError(f"group column '{group}' not found", file=source, column=group,
                             hint=f"columns are {', '.join(map(str, responses.columns[:30]))}")
        data[group] = responses[group]
    stats = ordinal_sample_stats(data, spec.observed, group, missing=missing, source=source)
    labels = None if group is None else [g.label for g in stats.groups]
    return list(stats.groups), labels, int(len(data) - stats.n_total)



def model_spec(model: str | ModelSpec | None, instrument: Any) -> ModelSpec:
    if isinstance(model, ModelSpec):
        model.check()
        return model
    if model is not None:
        return parse_model(model)
    from .instruments import TOTAL

    scales = {k: list(v) for k, v in instrument.scales.items() if k != TOTAL}
    if not scales:
        scales = {TOTAL: list(instrument.item_ids)}
    try:
        return ModelSpec.from_scales(scales)
    except InputError as exc:
        raise InputError(
            f"instrument '{instrument.id}': {exc.message}",
            hint="give the measurement model explicitly with model='F =~ item1 + item2 + ...'",
        ) from None


def prepare(responses: pd.DataFrame, instrument: Any, model: Any,
             columns: Mapping[str, str] | None) -> tuple[pd.DataFrame, ModelSpec, str | None]:
    """The numeric matrix of the model's observed variables (rows kept), the model, source."""
    from ._checks import check_frame

    check_frame(responses, "responses", "cfa")
    source = responses.attrs.get("source")
    if instrument is None and model is None:
        raise InputError("give an instrument (its subscales are the model) or a model string",
                         hint="e.g. cfa(data, 'jse-s') or cfa(data, model='F =~ x1 + x2 + x3')")
    if instrument is not None:
        from .instruments import resolve_instrument
        from .scoring import keyed_for_statistic

        inst = resolve_instrument(instrument, responses)
        spec = model_spec(model, inst)
        frame, notes = keyed_for_statistic(responses, inst, columns=columns, func="cfa")
        # out-of-range codes set to missing: the result reports them (CFAResult.notes)
        frame.attrs["notes"] = notes
        missing = [v for v in spec.observed if v not in frame.columns]
        if missing:
            raise InputError(
                f"model variable '{missing[0]}' is not an item of instrument '{inst.id}'",
                file=source, hint=f"items are {', '.join(inst.item_ids)}",
            )
        return frame[spec.observed], spec, source
    spec = model_spec(model, None)
    out = {}
    for v in spec.observed:
        if v not in responses.columns:
            raise InputError(f"model variable '{v}' is not a column of the data", file=source,
                             column=v, hint="model names must match the data's column names")
        col = responses[v]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            conv = pd.to_numeric(col, errors="coerce")
            bad = col.notna() & conv.isna()
            if bad.any():
                pos = int(np.flatnonzero(bad.to_numpy())[0])
                if source is None:  # data given in memory: name the index label
                    raise InputError(f"value {col.iloc[pos]!r} is not a number",
                                     index=responses.index[pos], column=v,
                                     hint="a CFA needs numeric item scores")
                row = int(responses.attrs.get("first_row", 2)) + pos
                raise InputError(f"value {col.iloc[pos]!r} is not a number", file=source,
                                 row=row, column=v, hint="a CFA needs numeric item scores")
            col = conv
        out[v] = col.to_numpy(dtype=float, na_value=np.nan)
    return pd.DataFrame(out, index=responses.index), spec, source


def with_std_lv(spec: ModelSpec, std_lv: bool) -> ModelSpec:
    """A copy of ``spec`` identified by unit factor variances (lavaan ``std.lv = TRUE``)."""
    return dataclasses.replace(spec, std_lv=bool(std_lv)) if std_lv != spec.std_lv else spec


def _rows(values: np.ndarray, missing: str) -> np.ndarray:
    """Rows kept: complete rows (listwise) or rows with at least one answer (FIML)."""
    nan = np.isnan(values)
    return ~nan.any(axis=1) if missing == "listwise" else ~nan.all(axis=1)


def single_data(frame: pd.DataFrame, spec: ModelSpec, missing: str
                ) -> tuple[list[_sem.GroupStats], int]:
    """One group's statistics and the number of rows dropped."""
    values = frame.to_numpy(dtype=float)
    keep = _rows(values, missing)
    values = values[keep]
    _sem.check_sample(values, spec.observed)
    return [_sem.group_stats(values, missing=missing)], int((~keep).sum())


def sorted_labels(labels: pd.Series) -> tuple[pd.Series, list[Any]]:
    """Group labels sorted (as strings when mixed); integral floats become ints."""
    uniq = list(pd.unique(labels))
    try:
        uniq = sorted(uniq)
    except TypeError:
        uniq = sorted(uniq, key=str)
    uniq = [u.item() if isinstance(u, np.generic) else u for u in uniq]
    if uniq and all(isinstance(u, float) and u.is_integer() for u in uniq):
        # e.g. a year column read as float because some rows lack it: label 2 rather than 2.0
        labels = labels.astype(int)
        uniq = [int(u) for u in uniq]
    return labels, uniq


def group_data(responses: pd.DataFrame, frame: pd.DataFrame, spec: ModelSpec, group: str,
               missing: str, source: str | None
               ) -> tuple[list[_sem.GroupStats], list[Any], int]:
    """Per-group statistics (groups sorted), the labels and the number of rows dropped."""
    if group not in responses.columns:
        raise InputError(f"group column '{group}' not found", file=source, column=group,
                         hint=f"columns are {', '.join(map(str, responses.columns[:30]))}")
    labels = responses[group]
    values = frame.to_numpy(dtype=float)
    ok = _rows(values, missing) & labels.notna().to_numpy()
    n_dropped = int((~ok).sum())
    values, labels = values[ok], labels[ok]
    labels, uniq = sorted_labels(labels)
    word = "complete answers" if missing == "listwise" else "answers"
    if len(uniq) < 2:
        raise DataError(f"group column '{group}' has {len(uniq)} group(s) with {word}; a "
                        "multi-group model needs at least two", file=source, column=group)
    p = len(spec.observed)
    small = [(u, int((labels == u).sum())) for u in uniq if (labels == u).sum() <= p]
    if small:
        desc = ", ".join(f"'{u}' (n = {n})" for u, n in small)
        which = "complete respondents" if missing == "listwise" else "respondents"
        raise DataError(
            f"group(s) {desc} of '{group}' have no more {which} than the {p} "
            "items; each group needs more respondents than items (ideally several hundred)",
            file=source, column=group, hint="merge small groups or drop them first",
        )
    stats_g = []
    lab = labels.to_numpy()
    for u in uniq:
        block = values[lab == u]
        _sem.check_sample(block, spec.observed, label=u)
        stats_g.append(_sem.group_stats(block, label=u, missing=missing))
    return stats_g, uniq, n_dropped


def parse_partial(spec: ModelSpec, entries: Sequence[str]) -> frozenset:
    """lavaan ``group.partial`` strings (``"F=~x2"``, ``"x3~1"``, ``"x1~~x1"``) -> matrix
    entries ``(kind, row, col)`` exempt from the cross-group equality constraints."""
    obs = {v: i for i, v in enumerate(spec.observed)}
    lat = {f: j for j, f in enumerate(spec.factors)}
    out = set()
    for raw in entries:
        text = str(raw).replace(" ", "")
        if text.endswith("~1") and text[:-2] in obs:
            out.add(("nu", obs[text[:-2]], 0))
        elif "=~" in text and text.split("=~")[0] in lat and text.split("=~")[1] in obs:
            f, x = text.split("=~")
            out.add(("lambda", obs[x], lat[f]))
        elif "~~" in text and all(v in obs for v in text.split("~~")):
            i, k = sorted((obs[v] for v in text.split("~~")), reverse=True)
            out.add(("theta", i, k))
        else:
            raise InputError(f"cannot read the freed parameter '{raw}'",
                             hint="write 'factor=~item' (a loading), 'item~1' (an intercept) "
                                  "or 'item~~item' (a residual variance) with names from the "
                                  "model")
    return frozenset(out)
