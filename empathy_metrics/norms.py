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
from scipy import stats

from ._results import Result
from .errors import InputError
from .instruments import Instrument, Norm, load_instrument

__all__ = ["NormResult", "norm_scores", "percentile_rank"]

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
    return 100 * stats.norm.cdf((x - norm.mean) / norm.sd), METHOD_NORMAL


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
