"""Score distribution per time: protected histograms (top/bottom-coded open bins, small bins
suppressed with complements) and the distribution table (min, quartiles, max, mode)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..instruments import Instrument, load_instrument, resolve_instrument
from ..suppression import DEFAULT_MIN_CELL, suppress_counts
from ._base import _describe, _pattern, _prepare
from .results import HistogramResult, TrendResult

_DIST_COLS = ["scale", "time", "n", "mean", "sd", "min", "min_coded", "q1", "median", "q3",
              "max", "max_coded", "mode"]
_HIST_COLS = ["scale", "time", "bin", "low", "high", "open", "label", "count"]


def score_resolution(instrument: Instrument | str, scale: str) -> float:
    """The step between possible scores of ``scale`` when every item is answered.

    1 for sum-scored scales; ``1/k`` for a scale scored as the mean of ``k`` items. (Scores of
    respondents with imputed items can fall between the steps.)
    """
    inst = load_instrument(instrument)
    if inst.method == "mean":
        return 1.0 / len(inst.scales[scale])
    return 1.0


def default_bin_width(instrument: Instrument | str, scale: str) -> float:
    """The smallest of 1, 2, 5, 10, 20, 50, … score steps giving at most 25 bins over the
    scale's possible range (e.g. 5 points for the 20–140 JSE total, 1 for a 2–14 subscale)."""
    inst = load_instrument(instrument)
    lo, hi = inst.scale_range(scale)
    res = score_resolution(inst, scale)
    mult = 1.0
    while True:
        for m in (1, 2, 5):
            width = m * mult * res
            if (hi - lo) / width + 1 <= 25 + 1e-9:
                return width
        mult *= 10


def _fmt_edge(x: float) -> str:
    return f"{x:.6g}"


def _histogram_bins(y: np.ndarray, lo: float, hi: float, width: float, min_cell: int
                    ) -> list[dict[str, Any]]:
    """Tail-coded bins of one time (before interior suppression).

    Bins are half-open ``[lo + k·w, lo + (k+1)·w)`` (the last one closed at ``hi``); the bins
    from the bottom up to the first where the running count reaches ``min_cell`` are merged
    into one open bin ``< b``, and likewise from the top (``≥ a``). When what lies between the
    two open bins is 1..min_cell−1 respondents with nothing to keep it apart, the time is one
    bin holding everyone.
    """
    k = int(np.floor((hi - lo) / width + 1e-9)) + 1
    edges = lo + width * np.arange(k + 1)
    idx = np.clip(np.floor((y - lo) / width + 1e-9).astype(int), 0, k - 1)
    counts = np.bincount(idx, minlength=k)
    n = int(counts.sum())

    def interior(a: int) -> dict[str, Any]:
        high = edges[a + 1] if a < k - 1 else hi
        closing = "]" if a == k - 1 else ")"
        return {"bin": a, "low": float(edges[a]), "high": float(high), "open": None,
                "label": f"[{_fmt_edge(edges[a])}, {_fmt_edge(high)}{closing}",
                "count": int(counts[a])}

    def whole() -> list[dict[str, Any]]:
        return [{"bin": 0, "low": float(lo), "high": float(hi), "open": "both",
                 "label": "all scores", "count": n}]

    if n < min_cell:
        return whole()
    cum = np.cumsum(counts)
    j = int(np.argmax(cum >= min_cell))
    rcum = np.cumsum(counts[::-1])[::-1]
    j2 = int(k - 1 - np.argmax(rcum[::-1] >= min_cell))
    low_bin = {"bin": 0, "low": float(lo), "high": float(edges[j + 1]), "open": "low",
               "label": f"< {_fmt_edge(edges[j + 1])}", "count": int(cum[j])}
    if j + 1 > k - 1:
        return whole()
    if j2 <= j:  # the tails overlap: two open bins if the upper part can stand alone
        rest = n - int(cum[j])
        if rest < min_cell:  # nothing (or too few) above the bottom-coded bin
            return whole()
        j2 = j + 1
    high_bin = {"bin": j2, "low": float(edges[j2]), "high": float(hi), "open": "high",
                "label": f"\u2265 {_fmt_edge(edges[j2])}", "count": int(rcum[j2])}
    return [low_bin, *(interior(a) for a in range(j + 1, j2)), high_bin]


def _protect_bins(bins: list[dict[str, Any]], min_cell: int) -> list[dict[str, Any]]:
    """Suppress the bins of 1..min_cell−1 with complements so that none can be recovered
    from the shown bins and the time's total n (one margin: the whole time).

    Complements are interior bins when there are any (an open tail bin is known to hold at
    least ``min_cell``, which would narrow what the hidden bins can be). Zero bins are shown,
    so a reader knows each hidden bin holds at least 1 (an open bin at least ``min_cell``);
    complements are added until the hidden total exceeds the sum of those lower bounds, so
    that no hidden bin is pinned to one value (e.g. two hidden bins of 1 each). Returns the
    bins with ``suppressed``, ``primary_suppressed`` and the count of hidden bins ``None``
    (:func:`empathy_metrics.suppression.suppress_counts` on the bins' counts).
    """
    counts = np.array([b["count"] for b in bins], dtype=float)
    nonzero = counts > 0
    hidden = np.zeros(counts.size, dtype=bool)
    small = np.zeros(counts.size, dtype=bool)
    if nonzero.any():
        c = counts[nonzero]
        interior = np.array([b["open"] is None for b in bins])[nonzero]
        hide, primary = suppress_counts(c, min_cell, first=interior)
        hide = hide.copy()
        lower = np.where(interior, 1.0, float(min_cell))
        while hide.any() and c[hide].sum() <= lower[hide].sum() and not hide.all():
            pool = np.flatnonzero(~hide & interior)
            pool = pool if pool.size else np.flatnonzero(~hide)
            hide[pool[np.argmin(c[pool])]] = True
        if hide.any() and c[hide].sum() <= lower[hide].sum():
            # every bin hidden and still pinned by the bounds: show the time as one bin
            return [{"bin": 0, "low": float(min(b["low"] for b in bins)),
                     "high": float(max(b["high"] for b in bins)), "open": "both",
                     "label": "all scores", "count": int(c.sum()), "suppressed": False,
                     "primary_suppressed": False}]
        hidden[nonzero], small[nonzero] = hide, primary
    return [{**b, "count": None if h else b["count"], "suppressed": bool(h),
             "primary_suppressed": bool(p)} for b, h, p in zip(bins, hidden, small, strict=True)]


def _mode(y: np.ndarray, res: float) -> tuple[float, int]:
    """Most frequent score after rounding to the scale's resolution (ties: the smallest)."""
    vals, cnt = np.unique(np.round(np.round(y / res) * res, 10), return_counts=True)
    i = int(np.argmax(cnt))  # np.unique sorts, argmax takes the first (smallest) of ties
    return float(vals[i]), int(cnt[i])


def _distribution_row(y: np.ndarray, bins: list[dict[str, Any]], res: float, min_cell: int
                      ) -> dict[str, Any]:
    """n, mean, SD, quartiles and the protected minimum, maximum and mode of one time."""
    d = _describe(y)
    row: dict[str, Any] = {k: d.get(k, np.nan) for k in ("n", "mean", "sd", "q1", "median",
                                                           "q3")}
    row.update(min=np.nan, min_coded=False, max=np.nan, max_coded=False, mode=np.nan)
    if y.size == 0:
        return row
    lo_v, hi_v = float(y.min()), float(y.max())
    open_low = [b for b in bins if b["open"] == "low"]
    open_high = [b for b in bins if b["open"] == "high"]
    if int((y == lo_v).sum()) >= min_cell:
        row["min"] = lo_v
    elif open_low:
        row.update(min=float(open_low[0]["high"]), min_coded=True)
    if int((y == hi_v).sum()) >= min_cell:
        row["max"] = hi_v
    elif open_high:
        row.update(max=float(open_high[0]["low"]), max_coded=True)
    mode, mode_n = _mode(y, res)
    if mode_n >= min_cell:
        row["mode"] = mode
    return row



def _histogram_tables(inst: Instrument, scales: Sequence[str], y_by_scale_time: Mapping[
        tuple[str, Any], np.ndarray], times: Sequence[Any], shown: Mapping[Any, bool],
        min_cell: int, bin_width: Mapping[str, float] | float | None, *,
        small: Mapping[Any, bool]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Histogram and distribution tables of every scale and time (hidden times blank).

    ``small`` maps each time to whether it was hidden for being small (``primary_suppressed``
    of the time pattern); a hidden time that is not small is a complement."""
    hist_rows: list[dict[str, Any]] = []
    dist_rows, widths = [], {}
    for scale in scales:
        lo, hi = inst.scale_range(scale)
        res = score_resolution(inst, scale)
        if bin_width is None:
            width = default_bin_width(inst, scale)
        elif isinstance(bin_width, Mapping):
            width = float(bin_width.get(scale, default_bin_width(inst, scale)))
        else:
            width = float(bin_width)
        if not width > 0:
            raise InputError(f"bin_width must be positive, got {width}")
        widths[scale] = width
        for t in times:
            y = y_by_scale_time[(scale, t)]
            if not shown[t]:
                hist_rows.append({"scale": scale, "time": t, "bin": 0, "low": lo, "high": hi,
                                  "open": "both", "label": "all scores", "count": None,
                                  "suppressed": True, "primary_suppressed": bool(small[t])})
                row = {"scale": scale, "time": t, **{c: np.nan for c in _DIST_COLS[2:]},
                       "min_coded": None, "max_coded": None}
                row["n"] = None
                dist_rows.append({**row, "suppressed": True,
                                  "primary_suppressed": bool(small[t])})
                continue
            bins = _protect_bins(_histogram_bins(y, lo, hi, width, min_cell), min_cell)
            hist_rows.extend({"scale": scale, "time": t, **b} for b in bins)
            dist_rows.append({"scale": scale, "time": t,
                              **_distribution_row(y, bins, res, min_cell), "suppressed": False,
                              "primary_suppressed": False})
    hist = pd.DataFrame(hist_rows).reindex(columns=[*_HIST_COLS, "suppressed",
                                                    "primary_suppressed"])
    hist["count"] = pd.Series([r["count"] for r in hist_rows], dtype=object, index=hist.index)
    dist = pd.DataFrame(dist_rows).reindex(columns=[*_DIST_COLS, "suppressed",
                                                    "primary_suppressed"])
    dist["n"] = pd.Series([None if pd.isna(v) else int(v) for v in dist["n"]], dtype=object,
                          index=dist.index)
    return hist, dist, widths


def score_histogram(
    data: pd.DataFrame | TrendResult,
    instrument: Instrument | str | None = None,
    *,
    time: str | None = None,
    scales: Sequence[str] | None = None,
    bin_width: float | Mapping[str, float] | None = None,
    min_cell: int | None = None,
) -> HistogramResult:
    """Histogram of scores per time and scale with small bins protected.

    Parameters
    ----------
    data
        A :class:`TrendResult` (its shown times' scores and suppression are used), or long
        data (scale score columns or raw items) with ``instrument`` and ``time``.
    instrument, time
        Needed with a DataFrame.
    scales
        Subset of scales (default all).
    bin_width
        Width of the bins in score points, one for all scales or per scale; default
        :func:`default_bin_width` (5 points for the JSE total).
    min_cell
        Smallest count shown (default: the result's, else 10).

    Returns
    -------
    HistogramResult

    Notes
    -----
    Algorithm: (1) times with fewer than ``min_cell`` respondents (and their complements) show
    no bin; (2) bins are half-open ``[lo + k·w, lo + (k+1)·w)`` from the scale's lowest
    possible score ``lo``; (3) top/bottom coding — the bins from the bottom up to the first
    at which the running count reaches ``min_cell`` are merged into one open bin ``< b``, and
    likewise from the top into ``≥ a`` (so the extreme scores, single respondents, are never
    shown); (4) any remaining bin of 1..min_cell−1 respondents is suppressed, with
    complementary suppression (:func:`empathy_metrics.suppression.suppress`, the time's total
    n as the margin, interior bins preferred as complements) so that no hidden bin can be
    recovered from the shown bins and n; zero bins are shown, so a reader knows a hidden bin
    holds at least 1 (an open bin at least ``min_cell``) and further complements are hidden
    until the hidden total exceeds those lower bounds (no hidden bin is pinned to one value;
    when only hiding everything would do, the time is shown as a single bin of n). R
    equivalent of the raw counts: ``table(cut(x, breaks, right = FALSE))``.

    The distribution table of :func:`trend` uses these bins: its ``min`` is the exact lowest
    score only when at least ``min_cell`` respondents share it, otherwise the upper edge ``b``
    of the bottom-coded bin (``min_coded``: "< b"); ``max`` likewise (``max_coded``: "≥ a").
    Its ``mode`` is the most frequent score after rounding to the scale's resolution
    (:func:`score_resolution`: whole points for sum scores, so imputed scores count with the
    nearest whole score), the smallest one on ties, and is shown only when at least
    ``min_cell`` respondents share it (a mode held by fewer would single out a few people).
    """
    if isinstance(data, TrendResult):
        inst = data.instrument
        mc = int(min_cell) if min_cell is not None else data.min_cell
        sc = list(scales) if scales is not None else list(data.scales)
        if mc < data.min_cell:
            raise InputError(f"min_cell {mc} is below the result's {data.min_cell}")
        sv = data.scores
        y = {(s, t): sv.loc[(sv["scale"] == s) & (sv["time"] == t), "value"].to_numpy(float)
             for s in sc for t in data.times}
        bt = data.by_time
        was_hidden = np.array([bool(bt.loc[bt["time"] == t, "suppressed"].iloc[0])
                               for t in data.times])
        # a larger min_cell than the result's may hide further times (with a complement)
        counts_t = pd.DataFrame({"time": data.times,
                                 "n": [min(y[(s, t)].size for s in sc) for t in data.times]})
        pat = _pattern(counts_t, ["time"], [[]], mc, force_hidden=was_hidden)
        shown = dict(zip(pat["time"], ~pat["suppressed"].to_numpy(dtype=bool), strict=True))
        times, time = list(data.times), data.time
    else:
        from .._checks import check_frame

        check_frame(data, "data", "score_histogram", also=("TrendResult",))
        if instrument is None or time is None:
            raise InputError("score_histogram of a DataFrame needs instrument= and time=")
        inst = resolve_instrument(instrument, data)
        mc = int(min_cell) if min_cell is not None else DEFAULT_MIN_CELL
        if mc < 1:
            raise InputError(f"min_cell must be a positive integer, got {min_cell}")
        if time not in data.columns:
            raise InputError(f"time column '{time}' not found", column=time)
        sc = list(scales) if scales is not None else list(inst.scales)
        frame, _ = _prepare(data, inst, sc)
        frame = frame[frame[time].notna()]
        times = sorted(pd.unique(frame[time]).tolist())
        tv = frame[time].to_numpy()
        nonmissing = frame[sc].notna()
        counts_t = pd.DataFrame({"time": times, "n": [int(nonmissing[tv == t].sum().min())
                                                      for t in times]})
        pat = _pattern(counts_t, ["time"], [[]], mc)
        shown = dict(zip(pat["time"], ~pat["suppressed"].to_numpy(dtype=bool), strict=True))
        y = {(s, t): frame.loc[(tv == t) & frame[s].notna().to_numpy(), s].to_numpy(float)
             for s in sc for t in times}
    unknown = [s for s in sc if s not in inst.scales]
    if unknown:
        raise InputError(f"unknown scale(s) {', '.join(unknown)} for {inst.id}")
    small = dict(zip(pat["time"], pat["primary_suppressed"].to_numpy(dtype=bool), strict=True))
    hist, dist, widths = _histogram_tables(inst, sc, y, times, shown, mc, bin_width,
                                           small=small)
    n = dist[["scale", "time", "n", "suppressed", "primary_suppressed"]].copy()
    notes = []
    if hist["primary_suppressed"].any():
        notes.append(f"bins with 1 to {mc - 1} respondents are suppressed, with complementary "
                     "suppression; the lowest and highest scores are merged into open-ended "
                     f"bins of at least {mc}")
    return HistogramResult(instrument=inst, time=time, times=times, scales=sc, min_cell=mc,
                           bin_width=widths, table=hist, n=n, notes=notes)

