"""Scoring: reverse keying, scale scores under the missing-item rule, data-quality flags.

All operations are vectorised over respondents: one pass over the item columns as stored, in
cache-sized blocks (:mod:`empathy_metrics._item_pass`); the keyed and raw item matrices of a
:class:`ScoreResult` are built only when asked for.

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
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ._item_pass import Codes, Moments, keyed_codes, listwise_moments, read_codes, score_codes
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


def _out_of_range_mask(raw: np.ndarray, instrument: Instrument) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return ~np.isnan(raw) & (
            (raw < instrument.response_min)
            | (raw > instrument.response_max)
            | (raw != np.round(raw))
        )


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
    codes = read_codes(responses, inst, columns)
    keyed, oor = keyed_codes(codes)
    return (pd.DataFrame(keyed, index=codes.index, columns=inst.item_ids, copy=False),
            pd.Series(oor, index=inst.item_ids, name="out_of_range"))


def keyed_for_statistic(responses: pd.DataFrame, instrument: Any, *,
                        columns: Mapping[str, str] | None = None, func: str
                        ) -> tuple[pd.DataFrame, list[str]]:
    """:func:`keyed_items` for a statistic, with the notes it must report.

    Out-of-range codes become missing before any statistic; when there are some, a
    :class:`~empathy_metrics.errors.DroppedCodesWarning` says how many and where, and the same
    sentence is returned as a note for the result.
    """
    keyed, dropped = _keyed_and_dropped(responses, instrument, columns, func)
    return keyed, _dropped_codes_notes(dropped, func)


def listwise_for_statistic(responses: pd.DataFrame, inst: Instrument, *,
                           columns: Mapping[str, str] | None = None, func: str
                           ) -> tuple[dict[str, Moments], list[str]]:
    """Per scale of ``inst``, the listwise means and covariance matrix of its keyed items
    (:func:`empathy_metrics._item_pass.listwise_moments`: one pass, no keyed matrix), with
    the notes of :func:`keyed_for_statistic`."""
    from ._checks import check_frame

    check_frame(responses, "responses", func)
    codes = read_codes(responses, inst, columns)
    pos = {iid: j for j, iid in enumerate(inst.item_ids)}
    moments, dropped = listwise_moments(
        codes, {s: [pos[i] for i in ids] for s, ids in inst.scales.items()})
    return moments, _dropped_codes_notes(
        pd.Series(dropped, index=inst.item_ids, name="out_of_range"), func)


def _dropped_codes_notes(dropped: pd.Series, func: str) -> list[str]:
    """The note (and :class:`~empathy_metrics.errors.DroppedCodesWarning`, attributed to the
    caller of the statistic) on out-of-range codes treated as missing; none without any."""
    import warnings

    from .errors import DroppedCodesWarning

    total = int(dropped.sum())
    if not total:
        return []
    worst = dropped[dropped > 0].sort_values(ascending=False, kind="stable")
    where = ", ".join(f"{item}: {int(n)}" for item, n in worst.head(6).items())
    note = (f"{total} out-of-range code(s) treated as missing ({where}"
            f"{', ...' if len(worst) > 6 else ''}); em.score(...).item_quality() lists them")
    warnings.warn(f"{func}: {note}", DroppedCodesWarning, stacklevel=4)
    return [note]


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
        Item scores after reverse keying (out-of-range as ``NaN``); built on first use.
    raw
        The numeric codes read (before keying, out-of-range codes kept); built on first use.
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
    #: the item codes as read, for :attr:`keyed` and :attr:`raw`
    codes: Codes = field(repr=False)
    id_col: str | None = None
    source: str | None = None
    file_rows: np.ndarray | None = field(default=None, repr=False)
    title: str = field(default="Scores", repr=False)

    @cached_property
    def keyed(self) -> pd.DataFrame:
        """Item scores after reverse keying (out-of-range as ``NaN``)."""
        keyed, _ = keyed_codes(self.codes)
        return pd.DataFrame(keyed, index=self.codes.index, columns=self.instrument.item_ids,
                            copy=False)

    @cached_property
    def raw(self) -> pd.DataFrame:
        """The numeric codes read (before keying, out-of-range codes kept)."""
        return pd.DataFrame(self.codes.matrix(), index=self.codes.index,
                            columns=self.instrument.item_ids, copy=False)

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
    codes = read_codes(responses, inst, columns, snapshot=True)
    done = score_codes(codes)
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
        instrument=inst, scores=out, codes=codes, id_col=id_col,
        source=responses.attrs.get("source"),
        file_rows=source_rows(responses),
    )
