"""Scoring: reverse keying, scale scores under the missing-item rule, data-quality flags.

All operations are vectorised over respondents (a million respondents x 20 items scores in
about a second).

Rules
-----
* **Reverse keying**: a reverse-keyed item's score is ``min + max - x``.
* **Out of range**: a code outside ``[min, max]`` is treated as missing and flagged.
* **Missing items**: a respondent who skipped at most ``instrument.max_missing_for(scale)``
  of a scale's ``k`` items is scored, each skipped item replaced by the mean of that
  respondent's answered items of the scale (person-mean replacement); with more skipped
  items the scale score is missing (``NaN``) and the respondent is flagged ``unscorable``.
  Hence ``sum = k * mean(answered)`` and ``mean = mean(answered)``.
* **Flags** never drop rows: ``n_missing``, ``unscorable``, ``out_of_range``,
  ``straightlining`` (more than half the items answered, every answer the same code) and
  ``duplicate_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._results import Result
from .instruments import Instrument, resolve_instrument

__all__ = ["reverse_key", "keyed_items", "score", "ScoreResult", "FLAG_COLUMNS"]

#: The per-respondent flag columns of :attr:`ScoreResult.scores`, in order.
FLAG_COLUMNS = ["unscorable", "out_of_range", "straightlining", "duplicate_id"]


def reverse_key(values: Any, minimum: float, maximum: float) -> Any:
    """Reverse a response code: ``minimum + maximum - values`` (an involution).

    Works on scalars, numpy arrays and pandas objects; missing values stay missing.

    >>> reverse_key(2, 1, 7)
    6
    """
    return minimum + maximum - values


def _raw_codes(responses: pd.DataFrame, instrument: Instrument,
               columns: Mapping[str, str] | None) -> pd.DataFrame:
    from .io import items_frame

    return items_frame(responses, instrument, columns=columns)


def _out_of_range_mask(raw: np.ndarray, instrument: Instrument) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return ~np.isnan(raw) & (
            (raw < instrument.response_min)
            | (raw > instrument.response_max)
            | (raw != np.round(raw))
        )


#: Rows per block of the one-pass scoring kernel: a block's temporaries (a few arrays of
#: rows x items) stay in the CPU cache, so the whole matrix is read once and written once.
_BLOCK_CELLS = 1 << 16


@dataclass
class _Pass:
    """What one pass over the codes yields (see :func:`_score_pass`)."""

    keyed: np.ndarray         # (n, k) keyed scores, NaN where not answered
    oor_by_item: np.ndarray   # (k,) out-of-range codes per item
    # with scales (otherwise empty):
    oor_by_row: np.ndarray    # (n,) out-of-range codes per respondent
    n_answered: np.ndarray    # (n,) answered items (within the range)
    scores: np.ndarray        # (scales, n) scale scores, NaN when unscorable
    same: np.ndarray          # (n,) every answered code the same


def _keying(inst: Instrument) -> tuple[np.ndarray, np.ndarray]:
    """Per item ``(sign, shift)``: keyed = ``sign * x + shift`` (:func:`reverse_key` for
    reverse-keyed items: ``sign = -1``, ``shift = min + max``; otherwise 1 and 0)."""
    rev = np.array([it.reverse for it in inst.items], dtype=bool)
    sign = np.where(rev, -1.0, 1.0)
    shift = np.where(rev, float(reverse_key(0, inst.response_min, inst.response_max)), 0.0)
    return sign, shift


def _membership(inst: Instrument) -> np.ndarray:
    """The 0/1 items x scales membership matrix."""
    pos = {iid: j for j, iid in enumerate(inst.item_ids)}
    member = np.zeros((len(pos), len(inst.scales)))
    for c, ids in enumerate(inst.scales.values()):
        member[[pos[i] for i in ids], c] = 1.0
    return member


def _score_pass(raw: np.ndarray, inst: Instrument, scales: bool = True) -> _Pass:
    """Reverse keying, range checks and the per-scale sums in one pass over the codes.

    Algorithm: the rows are taken in blocks of about ``_BLOCK_CELLS`` cells; in each block a
    code ``x`` is *answered* when ``min <= x <= max`` and ``x`` is whole (``NaN`` fails every
    comparison), *out of range* when present but not answered; the keyed score is
    ``sign·x + shift`` (:func:`_keying`), ``NaN`` when not answered. With ``scales``, per
    respondent and scale the sum of the answered keyed scores and their number are the block's
    ``keyed₀ @ M`` and ``answered @ M`` (``M`` the membership matrix, ``keyed₀`` the keyed
    scores with 0 for unanswered; exact, as the products sum small integers), turned into
    scale scores by :func:`_block_scores`, and straightlining compares the largest and
    smallest answered code. Every temporary is block-sized, so the codes are read once and
    the keyed matrix and the per-respondent results written once.
    """
    n, k = raw.shape
    lo, hi = float(inst.response_min), float(inst.response_max)
    sign, shift = _keying(inst)
    keyed = np.empty((k, n)).T              # column-major, as pandas stores a float block
    member = _membership(inst)
    rule = _missing_rule(inst)
    m = n if scales else 0
    out = _Pass(keyed=keyed, oor_by_item=np.zeros(k, dtype=np.int64),
                oor_by_row=np.empty(m, dtype=np.int64), n_answered=np.empty(m, dtype=np.int64),
                scores=np.empty((member.shape[1], m)), same=np.empty(m, dtype=bool))
    step = max(1, _BLOCK_CELLS // max(k, 1))
    with np.errstate(invalid="ignore"):
        for r0 in range(0, n, step):
            rows = slice(r0, min(n, r0 + step))
            x = raw[rows]
            ok = (x >= lo) & (x <= hi) & (x == np.round(x))
            bad = ~ok & ~np.isnan(x)
            out.oor_by_item += bad.sum(axis=0)
            kv = keyed[rows]
            np.multiply(x, sign, out=kv)
            kv += shift
            kv[~ok] = np.nan
            if not scales:
                continue
            out.oor_by_row[rows] = bad.sum(axis=1)
            out.n_answered[rows] = ok.sum(axis=1)
            out.scores[:, rows] = _block_scores(np.where(ok, kv, 0.0) @ member,
                                                ok @ member, *rule).T
            out.same[rows] = (np.max(x, axis=1, initial=-np.inf, where=ok)
                              == np.min(x, axis=1, initial=np.inf, where=ok))
    return out


def keyed_items(
    responses: pd.DataFrame,
    instrument: Instrument | str,
    *,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Item scores after reverse keying, one column per item id, missing as ``NaN``.

    Out-of-range codes become ``NaN``. This is the matrix every statistic
    (reliability, factor analysis, ...) starts from.

    Parameters
    ----------
    responses
        Raw responses: one row per respondent, item columns named by item id (or linked by
        ``columns``), numeric codes or answer texts.
    instrument
        An :class:`~empathy_metrics.instruments.Instrument`, a bundled id, a YAML path, a dict,
        or a list of item columns (see :func:`~empathy_metrics.instruments.resolve_instrument`).
    columns
        Optional mapping item id -> data column name.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({f"TEQ{i}": [0, 4] for i in range(1, 17)})
    >>> keyed_items(df, "teq")[["TEQ1", "TEQ2"]].to_numpy().tolist()  # TEQ2 is reversed
    [[0.0, 4.0], [4.0, 0.0]]
    """
    return _keyed_and_dropped(responses, instrument, columns, "keyed_items")[0]


def _keyed_and_dropped(responses: pd.DataFrame, instrument: Any,
                       columns: Mapping[str, str] | None, func: str
                       ) -> tuple[pd.DataFrame, pd.Series]:
    """Keyed items and, per item, the number of out-of-range codes set to missing."""
    from ._checks import check_frame

    check_frame(responses, "responses", func)
    inst = resolve_instrument(instrument, responses)
    raw = _raw_codes(responses, inst, columns)
    done = _score_pass(raw.to_numpy(dtype=float), inst, scales=False)
    keyed = pd.DataFrame(done.keyed, index=raw.index, columns=inst.item_ids, copy=False)
    return keyed, pd.Series(done.oor_by_item, index=inst.item_ids, name="out_of_range")


def keyed_for_statistic(responses: pd.DataFrame, instrument: Any, *,
                        columns: Mapping[str, str] | None = None, func: str
                        ) -> tuple[pd.DataFrame, list[str]]:
    """:func:`keyed_items` for a statistic, with the notes it must report.

    Out-of-range codes become missing before any statistic; when there are some, a
    :class:`~empathy_metrics.errors.DroppedCodesWarning` says how many and where, and the same
    sentence is returned as a note for the result.
    """
    import warnings

    from .errors import DroppedCodesWarning

    keyed, dropped = _keyed_and_dropped(responses, instrument, columns, func)
    total = int(dropped.sum())
    if not total:
        return keyed, []
    worst = dropped[dropped > 0].sort_values(ascending=False, kind="stable")
    where = ", ".join(f"{item}: {int(n)}" for item, n in worst.head(6).items())
    note = (f"{total} out-of-range code(s) treated as missing ({where}"
            f"{', ...' if len(worst) > 6 else ''}); em.score(...).item_quality() lists them")
    warnings.warn(f"{func}: {note}", DroppedCodesWarning, stacklevel=3)
    return keyed, [note]


def _missing_rule(inst: Instrument) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per scale: number of items ``k``, unanswered items allowed, and whether scores are sums."""
    scales = inst.scales
    k = np.array([len(ids) for ids in scales.values()], dtype=float)
    allowed = np.array([inst.max_missing_for(s) for s in scales], dtype=float)
    return k, allowed, inst.method == "sum"


def _block_scores(sums: np.ndarray, counts: np.ndarray, k: np.ndarray, allowed: np.ndarray,
                  as_sum: bool) -> np.ndarray:
    """Scale scores (rows x scales) from the sums and numbers of the answered keyed items:
    ``k · sum / answered`` (``method: sum``) or ``sum / answered`` (``mean``) when at most
    ``allowed`` items are unanswered, else ``NaN`` (person-mean replacement, see :func:`score`).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        value = sums / counts
    if as_sum:
        value *= k
    value[~((k - counts <= allowed) & (counts > 0))] = np.nan
    return value


@dataclass
class ScoreResult(Result):
    """Scores and data-quality flags, one row per respondent (input order kept).

    Attributes
    ----------
    instrument
        The instrument scored.
    scores
        One row per respondent: the id column (when given), one column per scale,
        ``n_missing``, and the flag columns ``unscorable``, ``out_of_range`` (number of
        out-of-range codes), ``straightlining``, ``duplicate_id``.
    keyed
        Item scores after reverse keying (out-of-range as ``NaN``).
    raw
        The numeric codes read (before keying, out-of-range codes kept).
    id_col
        Name of the respondent id column, if any.
    source
        The data file scored, when known.
    file_rows
        Each respondent's row in the data file as a user sees it in a spreadsheet or editor
        (the header is row 1), from :func:`empathy_metrics.io.source_rows`; rows dropped by
        the reader (blank rows, survey previews) keep the numbering of the file.
    """

    instrument: Instrument
    scores: pd.DataFrame
    keyed: pd.DataFrame
    raw: pd.DataFrame
    id_col: str | None = None
    source: str | None = None
    file_rows: np.ndarray | None = field(default=None, repr=False)
    title: str = field(default="Scores", repr=False)

    @property
    def scales(self) -> list[str]:
        """The scale columns, in the instrument's order."""
        return list(self.instrument.scales)

    @property
    def flags(self) -> pd.DataFrame:
        """Boolean flags per respondent (``out_of_range`` as 'any code out of range')."""
        f = self.scores[FLAG_COLUMNS].copy()
        f["out_of_range"] = f["out_of_range"] > 0
        return f.astype(bool)

    @property
    def n(self) -> int:
        """Number of respondents (rows), flagged or not."""
        return len(self.scores)

    def flag_counts(self) -> dict[str, int]:
        """How many respondents carry each flag."""
        return {str(k): int(v) for k, v in self.flags.sum().items()}

    def item_quality(self) -> pd.DataFrame:
        """Per item: number missing (including out-of-range) and number out of range."""
        raw = self.raw.to_numpy(dtype=float)
        oor = _out_of_range_mask(raw, self.instrument)
        missing = np.isnan(raw) | oor
        return pd.DataFrame(
            {"missing": missing.sum(axis=0), "out_of_range": oor.sum(axis=0)},
            index=pd.Index(self.instrument.item_ids, name="item"),
        )

    def describe(self) -> pd.DataFrame:
        """Per scale: n scored, mean, SD, min, quartiles, max."""
        d = self.scores[self.scales].describe().T
        d = d.rename(columns={"count": "n", "std": "sd"})
        d["n"] = d["n"].astype(int)
        d.index.name = "scale"
        return d

    def to_frame(self) -> pd.DataFrame:
        """The per-respondent table :attr:`scores` (a copy)."""
        return self.scores

    @property
    def has_problems(self) -> bool:
        """Whether any respondent carries a flag (what ``empathy validate`` exits 1 on).

        Answers left missing within the instrument's allowance are counted but are not a
        problem: the missing-item rule scores them.
        """
        return any(self.flag_counts().values())

    def flagged_rows(self) -> dict[str, list[int]]:
        """Per flag, the file rows (see :attr:`file_rows`) of the respondents carrying it."""
        flags = self.flags
        rows = self._rows()
        return {name: rows[flags[name].to_numpy()].tolist() for name in FLAG_COLUMNS}

    def _rows(self) -> np.ndarray:
        if self.file_rows is not None:
            return np.asarray(self.file_rows, dtype=np.int64)
        return np.arange(2, self.n + 2, dtype=np.int64)

    def respondent_ids(self) -> pd.Series:
        """Who each row is: the id column's values; without one, the respondent's row in the
        data file (header = row 1) when the data were read from a file, else the 1-based
        position."""
        if self.id_col is not None:
            return self.scores[self.id_col]
        if self.source is not None:
            return pd.Series(self._rows(), index=self.scores.index, name="row")
        return pd.Series(np.arange(1, self.n + 1), index=self.scores.index, name="respondent")

    def quality(self) -> dict[str, Any]:
        """A data-quality summary: respondents, counts per flag, missing/out-of-range per item.

        ``{"instrument", "source", "n", "n_scored": {scale: n}, "flags": {flag: count},
        "flagged_rows": {flag: [row, ...]}, "items": [{"item", "missing", "out_of_range"}],
        "problems": bool}``; ``missing`` counts out-of-range codes too (they are treated as
        missing); rows are as in :meth:`flagged_rows`.
        """
        iq = self.item_quality()
        return {
            "instrument": self.instrument.id,
            "source": self.source,
            "n": self.n,
            "n_scored": {s: int(self.scores[s].notna().sum()) for s in self.scales},
            "flags": self.flag_counts(),
            "flagged_rows": self.flagged_rows(),
            "items": [
                {"item": item, "missing": int(row.missing), "out_of_range": int(row.out_of_range)}
                for item, row in iq.iterrows()
            ],
            "problems": self.has_problems,
        }

    def to_dict(self) -> dict[str, Any]:
        """``{"instrument", "n", "scores": [{"id", <scale>..., "n_missing", "flags"}]}``.

        ``id`` is as in :meth:`respondent_ids`: the id column's value, else the respondent's
        row in the data file (or 1-based position for data not read from a file). Scales are
        the subscales, then ``total`` when the instrument has one; an unscored scale is
        ``None`` (JSON ``null``).
        """
        scales = self.scales
        flags = self.flags
        ids = self.respondent_ids()
        vals = self.scores[scales].to_numpy(dtype=float)
        nmiss = self.scores["n_missing"].to_numpy()
        fl = flags.to_numpy()
        rows = []
        for r, rid in enumerate(ids.tolist()):
            row: dict[str, Any] = {"id": rid}
            for c, s in enumerate(scales):
                v = vals[r, c]
                row[s] = None if np.isnan(v) else float(v)
            row["n_missing"] = int(nmiss[r])
            row["flags"] = [FLAG_COLUMNS[c] for c in range(len(FLAG_COLUMNS)) if fl[r, c]]
            rows.append(row)
        return {"instrument": self.instrument.id, "n": self.n, "scores": rows}

    def summary(self) -> str:
        inst = self.instrument
        lines = [f"{inst.name} ({inst.id}): {self.n} respondents"]
        d = self.describe()
        table = d[["n", "mean", "sd", "min", "max"]]
        lines.append(table.to_string(float_format=lambda x: f"{x:.2f}"))
        counts = self.flag_counts()
        lines.append("Flags: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        d = self.describe()[["n", "mean", "sd", "min", "max"]]
        counts = ", ".join(f"{k}: {v}" for k, v in self.flag_counts().items())
        return (
            f"<div class='empathy-metrics-result'><h4>{html.escape(self.instrument.name)} — "
            f"{self.n} respondents</h4>{d.to_html(float_format=lambda x: f'{x:.2f}', border=0)}"
            f"<p>Flags: {html.escape(counts)}</p></div>"
        )


def _check_id_col(responses: pd.DataFrame, inst: Instrument, id_col: str,
                  role: str = "id") -> str:
    """The id (or time) column meant by ``id_col`` (trimmed, else ignoring case)."""
    from .errors import InputError
    from .io import resolve_columns

    source = responses.attrs.get("source")
    # trimmed / case variants, with a warning naming the column used (as trend and the CLI)
    id_col = resolve_columns(responses, source=source, **{role: id_col})[role]
    reserved = [*inst.scales, "n_missing", *FLAG_COLUMNS]
    if role == "id" and id_col in reserved:
        raise InputError(
            f"the id column's name '{id_col}' clashes with a score column",
            file=source,
            column=id_col,
            hint=f"rename it; score columns are {', '.join(reserved)}",
        )
    return id_col


def score(
    responses: pd.DataFrame,
    instrument: Instrument | str,
    *,
    columns: Mapping[str, str] | None = None,
    id_col: str | None = None,
    time_col: str | None = None,
) -> ScoreResult:
    r"""Score every respondent on every scale of ``instrument``.

    Parameters
    ----------
    responses
        One row per respondent. Item columns are matched by item id unless ``columns`` maps
        item id -> column name. Codes may be numbers or the instrument's answer labels.
    instrument
        An :class:`~empathy_metrics.instruments.Instrument`, a bundled id, a YAML path, a dict,
        or a list of item columns (one scale ``total``; see
        :func:`~empathy_metrics.instruments.resolve_instrument`).
    columns
        Optional mapping item id -> data column.
    id_col
        Respondent id column; repeated ids are flagged ``duplicate_id`` (first and later rows).
        Column names are matched after trimming, and ignoring case when unambiguous.
    time_col
        With ``id_col``: the time-point column of longitudinal data; an id is then a
        duplicate only when it repeats within one time point.

    Returns
    -------
    ScoreResult

    Raises
    ------
    InputError
        An item column or the id column is missing, or an answer is neither a code nor one of
        the scale's labels (the message names the file, row and column).

    Notes
    -----
    For a scale of :math:`k` items, let :math:`A_i` be the items respondent :math:`i` answered
    within the response scale and :math:`y_{ij}` the keyed scores (``min + max - x`` for
    reverse-keyed items). With :math:`\bar y_i = |A_i|^{-1} \sum_{j \in A_i} y_{ij}`, the
    score is :math:`k \bar y_i` (``method: sum``) or :math:`\bar y_i` (``method: mean``) when
    :math:`k - |A_i| \le` ``max_missing_for(scale)``, and missing otherwise. This is exactly
    replacing each skipped item by the respondent's mean of the answered items and then summing
    (or averaging). It agrees with R ``psych::scoreItems(keys, items, totals = FALSE,
    impute = "none")`` (times :math:`k` for sums) for the respondents within the allowance.
    The default allowance of the bundled Jefferson scales (20 %: 4 of 20 items) is the rule in
    common use for the JSE (Hojat 2016, *Empathy in Health Professions Education and Patient
    Care*); the CARE measure's (2 of 10) is from Mercer et al. 2004.

    Examples
    --------
    >>> import pandas as pd
    >>> from empathy_metrics import score
    >>> df = pd.DataFrame({f"TEQ{i}": [4] * 2 for i in range(1, 17)})
    >>> score(df, "teq").scores["total"].tolist()  # 8 reversed items score 0
    [32.0, 32.0]
    """
    from ._checks import check_frame
    from .io import source_rows

    check_frame(responses, "responses", "score")
    inst = resolve_instrument(instrument, responses)
    if id_col is not None:
        id_col = _check_id_col(responses, inst, id_col)
    if time_col is not None:
        time_col = _check_id_col(responses, inst, time_col, role="time")
    raw = _raw_codes(responses, inst, columns)
    done = _score_pass(raw.to_numpy(dtype=float), inst)
    keyed = pd.DataFrame(done.keyed, index=raw.index, columns=inst.item_ids, copy=False)
    n_items = len(inst.item_ids)

    columns_out: dict[str, Any] = {}
    if id_col is not None:
        columns_out[id_col] = responses[id_col].to_numpy()
    columns_out.update(zip(inst.scales, done.scores, strict=True))
    columns_out["n_missing"] = n_items - done.n_answered
    columns_out["unscorable"] = np.isnan(done.scores).any(axis=0)
    columns_out["out_of_range"] = done.oor_by_row
    # straightlining: the answered codes (within the scale) are all the same
    columns_out["straightlining"] = done.same & (done.n_answered * 2 > n_items)
    out = pd.DataFrame(columns_out, index=responses.index, copy=False)
    if id_col is not None:
        ids = responses[id_col]
        keys = [id_col] if time_col is None else [id_col, time_col]
        out["duplicate_id"] = (responses.duplicated(keys, keep=False).to_numpy()
                               & ids.notna().to_numpy())
    else:
        out["duplicate_id"] = False
    return ScoreResult(
        instrument=inst, scores=out, keyed=keyed, raw=raw, id_col=id_col,
        source=responses.attrs.get("source"),
        file_rows=source_rows(responses),
    )
