"""Item-level change and reliability per time: :func:`item_change`, :func:`reliability_by_time`
and the item table of :func:`~empathy_metrics.cohorts.trend`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, InputError
from ..instruments import Instrument, resolve_instrument
from ..suppression import DEFAULT_MIN_CELL
from ._base import TrendInput, _apply_pattern, _match_reference, _pattern
from .results import ItemChangeResult, ReliabilityByTimeResult


def _item_change_table(keyed: pd.DataFrame, tvals: np.ndarray, times: list[Any], reference: Any,
                       min_cell: int, force_hidden: Sequence[Any] = ()
                       ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series, pd.Series]:
    """Item means and change from ``reference`` per time; n per time; the suppression flags."""
    means = keyed.groupby(tvals).mean().T.reindex(columns=times)
    counts = keyed.groupby(tvals).count().T.reindex(columns=times).fillna(0)
    n_resp = pd.Series([int((tvals == t).sum()) for t in times], index=times, dtype=float)
    # a time's cell size is the smallest count of any item (answered by that many at least)
    cell_n = pd.DataFrame({"time": times, "n": counts.min(axis=0).to_numpy(dtype=float)})
    force = np.array([t in set(force_hidden) for t in times])
    pat = _pattern(cell_n, ["time"], [[]], min_cell, force_hidden=force)
    hidden = pd.Series(pat["suppressed"].to_numpy(dtype=bool), index=times)
    primary = pd.Series(pat["primary_suppressed"].to_numpy(dtype=bool), index=times)
    change = means.sub(means[reference], axis=0) if not hidden[reference] else means * np.nan
    for t in times:
        if hidden[t]:
            means[t] = np.nan
            change[t] = np.nan
    means.index.name = change.index.name = "item"
    n_shown = n_resp.astype(object)
    n_shown[hidden.to_numpy()] = None
    return means, change, n_shown, hidden, primary



def item_change(
    data: pd.DataFrame,
    instrument: Instrument | str,
    *,
    time: str,
    reference: Any = None,
    min_cell: int = DEFAULT_MIN_CELL,
    columns: Mapping[str, str] | None = None,
) -> ItemChangeResult:
    """Mean of every keyed item per time and its change from the reference time.

    Parameters
    ----------
    data
        Raw responses in long format (item columns and the ``time`` column).
    instrument
        Instrument or bundled id.
    time
        Time column; ``reference`` the time compared against (default: the first).
    min_cell
        A time where any item has fewer answers than this is suppressed (with a complement,
        so it cannot be recovered from a total).
    columns
        Optional item id -> column name map.

    Returns
    -------
    ItemChangeResult

    Notes
    -----
    Items are reverse-keyed first (:func:`empathy_metrics.scoring.keyed_items`) so that a
    negative change always means less empathy; change is the difference of the item means
    (available cases per item), in item points — the unit Colliver et al. (2010) recommend for
    judging whether a decline matters. R equivalent: ``aggregate(keyed ~ time, FUN = mean)``.
    """
    from .._checks import check_frame
    from ..scoring import keyed_items

    check_frame(data, "data", "item_change")
    inst = resolve_instrument(instrument, data)
    if time not in data.columns:
        raise InputError(f"time column '{time}' not found", column=time)
    if int(min_cell) < 1:
        raise InputError(f"min_cell must be a positive integer, got {min_cell}")
    frame = data[data[time].notna()].reset_index(drop=True)
    keyed = keyed_items(frame, inst, columns=columns)
    tvals = frame[time].to_numpy()
    times = sorted(pd.unique(tvals).tolist())
    if len(times) < 2:
        raise DataError(f"need at least two distinct values of '{time}', found {len(times)}")
    reference = _match_reference(reference, times, time)
    times = [reference] + [t for t in times if t != reference]
    means, change, n, hidden, primary = _item_change_table(keyed, tvals, times, reference,
                                                           int(min_cell))
    notes = []
    if hidden[reference]:
        notes.append("the reference time is suppressed: no change from it is shown")
    return ItemChangeResult(instrument=inst, time=time, times=times, reference=reference,
                            min_cell=int(min_cell), means=means, change=change, n=n,
                            suppressed=hidden, primary_suppressed=primary, notes=notes)



def reliability_by_time(
    data: pd.DataFrame,
    instrument: Instrument | str,
    *,
    time: str,
    min_cell: int = DEFAULT_MIN_CELL,
    scales: Sequence[str] | None = None,
    ci: str = "feldt",
    columns: dict[str, str] | None = None,
) -> ReliabilityByTimeResult:
    """Cronbach's alpha and its CI for every scale at every time.

    Parameters
    ----------
    data
        Raw responses in long format (item columns and ``time``).
    instrument
        Instrument or bundled id.
    time
        Time column.
    min_cell
        Times with fewer complete respondents (on any scale) are suppressed, with a complement.
    scales
        Subset of scales (default all).
    ci
        CI method passed to :func:`empathy_metrics.reliability.reliability` (``"feldt"``
        default; ``"bootstrap"``/``"bca"``).
    columns
        Optional item id -> column name map.

    Returns
    -------
    ReliabilityByTimeResult

    Notes
    -----
    Each time's rows go through :func:`empathy_metrics.reliability.reliability` (listwise
    complete cases per scale, omega off), which agrees with ``psych::alpha`` (Feldt CI as in
    psych). A stable alpha across times is a necessary (not sufficient) condition for comparing
    the times' means; see :func:`empathy_metrics.cfa.invariance` for the stronger check.
    """
    from .._checks import check_frame
    from ..reliability import reliability

    check_frame(data, "data", "reliability_by_time")
    inst = resolve_instrument(instrument, data)
    if time not in data.columns:
        raise InputError(f"time column '{time}' not found", column=time)
    if int(min_cell) < 1:
        raise InputError(f"min_cell must be a positive integer, got {min_cell}")
    scales = list(scales) if scales is not None else list(inst.scales)
    unknown = [s for s in scales if s not in inst.scales]
    if unknown:
        raise InputError(f"unknown scale(s) {', '.join(unknown)} for {inst.id}")
    frame = data[data[time].notna()].reset_index(drop=True)
    times = sorted(pd.unique(frame[time]).tolist())
    rows = []
    for t in times:
        sub = frame[frame[time] == t]
        try:
            rel = reliability(sub, inst, ci=ci, columns=columns, omega=False)
        except (DataError, InputError) as exc:
            for s in scales:
                rows.append({"scale": s, "time": t, "n": 0, "note": str(exc)})
            continue
        for s in scales:
            r = rel[s]
            rows.append({"scale": s, "time": t, "n": int(r.n), "alpha": r.alpha,
                         "ci_low": r.alpha_ci[0], "ci_high": r.alpha_ci[1],
                         "ci_method": r.ci_method})
    table = pd.DataFrame(rows).reindex(columns=["scale", "time", "n", "alpha", "ci_low",
                                                "ci_high", "ci_method"])
    cell_n = table.groupby("time", sort=False)["n"].min().reset_index()
    pat = _pattern(cell_n, ["time"], [[]], int(min_cell))
    table = _apply_pattern(table, pat, ["time"])
    notes = []
    if table["suppressed"].any():
        notes.append(f"times with fewer than {int(min_cell)} complete respondents are "
                     "suppressed, with a complement")
    return ReliabilityByTimeResult(instrument=inst, time=time, times=times, scales=scales,
                                   min_cell=int(min_cell), table=table, notes=notes)



def trend_items(inp: TrendInput) -> ItemChangeResult | None:
    """Item means and change of the keyed items per time (``None`` without item columns);
    the time pattern of :func:`~empathy_metrics.cohorts.trend` hides the same times."""
    if inp.keyed is None:
        return None
    hidden_times = [t for t in inp.times if not inp.shown[t]]
    means, change, n_items, hid, prim = _item_change_table(
        inp.keyed, inp.frame[inp.time].to_numpy(), inp.times, inp.reference, inp.min_cell,
        hidden_times)
    return ItemChangeResult(instrument=inp.inst, time=inp.time, times=inp.times,
                            reference=inp.reference, min_cell=inp.min_cell, means=means,
                            change=change, n=n_items, suppressed=hid, primary_suppressed=prim)
