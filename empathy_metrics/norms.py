"""Scores against published norms: z-scores and percentile ranks.

The norms come from the instrument definition (``Instrument.norms_for(scale, group)``). When the
norm carries a published percentile table (score -> percentile rank) the rank is read from it
(linear interpolation between tabled scores, clipped at the table's ends); otherwise the normal
approximation ``100·Φ((x − μ)/σ)`` is used. The result says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._distributions import norm_cdf
from ._results import Result, jsonable
from .errors import InputError
from .instruments import Instrument, Norm, load_instrument

__all__ = ["NormResult", "RespondentNorms", "norm_scores", "percentile_rank", "respondent_norms",
           "select_norm", "gender_group"]

METHOD_TABLE = "published percentile table (linear interpolation)"
METHOD_NORMAL = "normal approximation 100·Φ(z)"


def percentile_rank(scores: np.ndarray, norm: Norm) -> tuple[np.ndarray, str]:
    """Percentile ranks of ``scores`` under ``norm`` and the method used.

    Notes
    -----
    With a table ``{score: rank}``: ``np.interp`` over the sorted tabled scores (scores
    outside the table get the end ranks). Without: ``100·Φ((x − mean)/sd)``, which assumes
    normally distributed scores in the norm group (JSE totals are skewed to the left, so the
    table is preferred whenever published).
    """
    x = np.asarray(scores, dtype=float)
    if norm.percentiles:
        keys = np.array(sorted(norm.percentiles), dtype=float)
        ranks = np.array([norm.percentiles[k] for k in sorted(norm.percentiles)], dtype=float)
        out = np.interp(x, keys, ranks)
        out[np.isnan(x)] = np.nan
        return out, METHOD_TABLE
    return 100 * norm_cdf((x - norm.mean) / norm.sd), METHOD_NORMAL


@dataclass
class NormResult(Result):
    """Per-respondent z-scores and percentile ranks against one published norm."""

    scale: str
    norm: Norm
    scores: pd.DataFrame
    method: str
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Scores against norms", repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.scores

    def to_dict(self) -> dict[str, Any]:
        from ._results import jsonable

        return jsonable({
            "scale": self.scale, "method": self.method,
            "norm": {"mean": self.norm.mean, "sd": self.norm.sd, "group": self.norm.group,
                     "n": self.norm.n, "citation": self.norm.citation,
                     "population": self.norm.population},
            "sample": {"mean_z": float(np.nanmean(self.scores["z"])) if len(self.scores)
                       else None,
                       "median_percentile": float(np.nanmedian(self.scores["percentile"]))
                       if len(self.scores) else None},
        })

    def summary(self) -> str:
        n = self.norm
        z = self.scores["z"]
        return (f"{self.scale} against {n.group} norm (mean {n.mean}, SD {n.sd}; "
                f"{n.citation})\nmethod: {self.method}\n"
                f"sample mean z = {np.nanmean(z):.2f}, median percentile = "
                f"{np.nanmedian(self.scores['percentile']):.1f}")


def norm_scores(
    scores: pd.Series | np.ndarray,
    instrument: Instrument | str,
    scale: str = "total",
    group: str | None = "all",
) -> NormResult:
    """z-scores ``(x − μ)/σ`` and percentile ranks of ``scores`` against the instrument's norm.

    Parameters
    ----------
    scores
        Scale scores (missing allowed).
    instrument
        Instrument (or id) whose YAML carries the norms.
    scale, group
        Which norm (``group="all"`` for the whole norm sample, e.g. ``"women"``).

    Raises
    ------
    InputError
        When the instrument has no norm for that scale and group.

    References
    ----------
    Hojat M et al. (2018) Adv Health Sci Educ 23:899–920 (JSE-S national norms).
    """
    inst = load_instrument(instrument)
    found = inst.norms_for(scale, group)
    if not found:
        have = sorted({f"{n.scale}/{n.group}" for n in inst.norms}) or ["none"]
        raise InputError(f"{inst.id} has no norm for scale '{scale}', group '{group}'",
                         hint=f"available: {', '.join(have)}")
    norm = found[0]
    if not norm.sd > 0:
        raise InputError(f"the norm of {scale}/{group} has a non-positive SD")
    x = np.asarray(scores, dtype=float)
    pct, method = percentile_rank(x, norm)
    index = scores.index if isinstance(scores, pd.Series) else None
    frame = pd.DataFrame({"score": x, "z": (x - norm.mean) / norm.sd, "percentile": pct},
                         index=index)
    return NormResult(scale=scale, norm=norm, scores=frame, method=method)


# ---------------------------------------------------------------------------- per respondent
_WOMEN = {"women", "woman", "female", "f", "w", "girl"}
_MEN = {"men", "man", "male", "m", "boy"}


def gender_group(value: Any) -> str | None:
    """The norm group of a gender answer: ``"women"``, ``"men"`` or ``None`` (other, missing or
    not stated: such respondents are compared with the whole norm sample only)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().casefold()
    return "women" if text in _WOMEN else "men" if text in _MEN else None


def _training_year(value: Any) -> int | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return int(f) if np.isfinite(f) and f.is_integer() and f >= 1 else None


def select_norm(norms: list[Norm], group: str | None, year: int | None) -> Norm | None:
    """The published norm that fits a respondent best, or ``None`` when none fits.

    A norm fits when its group is the respondent's (``"women"``/``"men"``) or ``"all"``, and
    its training year (when the source restricts it) is the respondent's or the respondent's
    year is unknown. Among fitting norms the one matching the respondent's gender is
    preferred (the published cut-offs are by gender), then the one matching the year, then the
    larger norm sample.
    """
    fitting = [n for n in norms
               if (n.group == "all" or (group is not None and n.group == group))
               and (n.training_year is None or year is None or n.training_year == year)]
    if not fitting:
        return None
    return max(fitting, key=lambda n: (n.group == group and group is not None,
                                       year is not None and n.training_year == year,
                                       n.n or 0))


def _norm_label(n: Norm) -> str:
    year = f", year {n.training_year}" if n.training_year is not None else ""
    return f"{n.group}{year}: {n.population or 'norm sample'}"


@dataclass
class RespondentNorms(Result):
    """Each respondent's percentile against the published norm that fits them.

    ``table`` has, per normed scale, ``<scale>_norm_percentile``, ``<scale>_norm_z``,
    ``<scale>_norm`` (which norm: group, year, population), ``<scale>_norm_citation`` and,
    where the norm publishes a low-scorer cut-off, ``<scale>_low_scorer`` (score ≤ cut-off);
    rows as the scores. ``norms`` lists every norm used.
    """

    instrument_id: str
    scales: list[str]
    table: pd.DataFrame
    norms: list[Norm]
    method: dict[str, str]
    notes: list[str] = field(default_factory=list)
    title: str = field(default="Scores against published norms", repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "instrument": self.instrument_id, "method": dict(self.method),
            "norms": [{"scale": n.scale, "group": n.group, "training_year": n.training_year,
                       "population": n.population, "n": n.n, "mean": n.mean, "sd": n.sd,
                       "cutoff_low": n.cutoff_low, "citation": n.citation}
                      for n in self.norms],
            "notes": list(self.notes)})

    def summary(self) -> str:
        lines = [f"{self.title} ({self.instrument_id})"]
        for n in self.norms:
            col = f"{n.scale}_norm"
            used = self.table[col] == _norm_label(n)
            pct = self.table.loc[used, f"{n.scale}_norm_percentile"]
            text = (f"  {n.scale}, {_norm_label(n)} (mean {n.mean:g}, SD {n.sd:g}): "
                    f"{int(used.sum())} respondents, median percentile "
                    f"{np.nanmedian(pct):.0f}" if used.any() and pct.notna().any()
                    else f"  {n.scale}, {_norm_label(n)}: {int(used.sum())} respondents")
            if n.cutoff_low is not None and used.any():
                low = self.table.loc[used, f"{n.scale}_low_scorer"]
                text += (f"; {sum(v is True for v in low)} at or below the cut-off "
                         f"{n.cutoff_low:g}")
            lines.append(text)
            lines.append(f"    source: {n.citation}")
        lines.extend(f"  note: {t}" for t in self.notes)
        return "\n".join(lines)


def respondent_norms(
    scores: pd.DataFrame,
    instrument: Instrument | str,
    *,
    gender: pd.Series | np.ndarray | None = None,
    year: pd.Series | np.ndarray | None = None,
    scales: list[str] | None = None,
) -> RespondentNorms:
    """Each respondent's z-score and percentile against the published norm for their gender
    and training year, where one is published.

    Parameters
    ----------
    scores
        Scale scores, one row per respondent (e.g. ``ScoreResult.scores``).
    instrument
        Instrument (or id) whose YAML carries the norms.
    gender, year
        Per respondent (same order as ``scores``): gender answers (read by
        :func:`gender_group`; other answers use the whole norm sample) and the year of
        training (1 = first year). Either may be left out.
    scales
        Scales to compare (default: every scale with a published norm).

    Returns
    -------
    RespondentNorms

    Notes
    -----
    The norm of each respondent is chosen by :func:`select_norm`; ``z = (x − μ)/σ`` and the
    percentile is :func:`percentile_rank` (the published percentile table when the YAML has
    one, else the normal approximation ``100·Φ(z)``, which assumes normal scores in the norm
    group). A respondent for whom no norm fits (e.g. a third-year student of unknown gender
    when the only other norm is for first-year students) gets no percentile. The low-scorer
    flag uses the cut-off published with the norm (JSE-S: Hojat & Gonnella 2015, tentative).
    Only numbers copied from the cited sources are used: see the instrument's YAML.

    References
    ----------
    Hojat M et al. (2018) Adv Health Sci Educ 23:899–920 (JSE-S national norms, first-year
    students); Hojat M, Gonnella JS (2015) Med Princ Pract 24:344–350 (by gender, cut-offs).
    """
    inst = load_instrument(instrument)
    normed = [s for s in inst.scales if inst.norms_for(s)]
    scales = normed if scales is None else list(scales)
    missing = [s for s in scales if s not in normed]
    if missing or not scales:
        raise InputError(f"{inst.id} has no published norm for {', '.join(missing) or 'any scale'}",
                         hint=f"normed scales: {', '.join(normed) or 'none'}")
    n = len(scores)
    groups = [gender_group(v) for v in (np.asarray(gender, dtype=object) if gender is not None
                                        else [None] * n)]
    years = [_training_year(v) for v in (np.asarray(year, dtype=object) if year is not None
                                         else [None] * n)]
    if len(groups) != n or len(years) != n:
        raise InputError("gender and year need one value per respondent")
    table = pd.DataFrame(index=scores.index)
    used: list[Norm] = []
    method: dict[str, str] = {}
    for scale in scales:
        _respondent_columns(table, scores[scale].to_numpy(dtype=float), inst.norms_for(scale),
                            groups, years, scale, used, method)
    notes = []
    if gender is None:
        notes.append("no gender given: every respondent is compared with the whole norm sample")
    if year is None:
        notes.append("no training year given: norms restricted to one year of training are "
                     "used for every respondent (see each norm's population)")
    unmatched = int(sum((table[f"{s}_norm"].isna() & scores[s].notna()).sum() for s in scales))
    if unmatched:
        notes.append(f"{unmatched} respondent score(s) have no published norm for their "
                     "gender and year of training")
    return RespondentNorms(instrument_id=inst.id, scales=scales, table=table, norms=used,
                           method=method, notes=notes)


def _respondent_columns(table: pd.DataFrame, x: np.ndarray, norms: list[Norm],
                        groups: list[str | None], years: list[int | None], scale: str,
                        used: list[Norm], method: dict[str, str]) -> None:
    """Fill the norm columns of one scale (one norm per respondent)."""
    chosen = [None if np.isnan(v) else select_norm(norms, g, y)
              for v, g, y in zip(x, groups, years, strict=True)]
    pct = np.full(x.size, np.nan)
    z = np.full(x.size, np.nan)
    low = np.full(x.size, None, dtype=object)
    for norm in {id(c): c for c in chosen if c is not None}.values():
        rows = np.array([c is norm for c in chosen])
        pct[rows], method[scale] = percentile_rank(x[rows], norm)
        z[rows] = (x[rows] - norm.mean) / norm.sd
        if norm.cutoff_low is not None:
            low[rows] = [None if np.isnan(v) else bool(v <= norm.cutoff_low) for v in x[rows]]
        used.append(norm)
    table[f"{scale}_norm_percentile"] = pct
    table[f"{scale}_norm_z"] = z
    table[f"{scale}_norm"] = [None if c is None else _norm_label(c) for c in chosen]
    table[f"{scale}_norm_citation"] = [None if c is None else c.citation for c in chosen]
    if any(n.cutoff_low is not None for n in norms):
        table[f"{scale}_low_scorer"] = low
