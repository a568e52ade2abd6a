"""Sample statistics of one group: complete cases, or missing-data patterns for FIML.

For complete data everything a normal-theory fit needs is ``N``, the mean vector and the
covariance matrix divided by ``N`` (lavaan's ``likelihood = "normal"``). With missing answers
(``missing = "fiml"``) the likelihood is casewise (Arbuckle 1996); rows with the same pattern
of observed items share one inverse, so the data are kept as *blocks*: the rows of one pattern,
their observed columns, count, mean and covariance (divided by the block's count). The
saturated (H1) moments under missing data are estimated by EM (see :mod:`.missing`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import DataError, DegenerateDataError

__all__ = ["Block", "GroupStats", "group_stats", "check_sample"]


@dataclass
class Block:
    """Rows sharing one pattern of observed variables.

    ``obs`` are the observed column indices (``None``: all), ``data`` the rows restricted to
    them, ``mean`` and ``cov`` (divided by ``n``) their moments.
    """

    obs: np.ndarray | None
    n: int
    mean: np.ndarray
    cov: np.ndarray
    data: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.ix = None if self.obs is None else np.ix_(self.obs, self.obs)


@dataclass
class GroupStats:
    """Summary statistics of one group.

    ``mean`` and ``cov`` (divided by ``N``) are the sample moments for complete data and the
    EM (saturated-model ML) estimates with missing data; ``blocks`` hold the data by pattern;
    ``h1_loglik`` is the saturated model's log-likelihood.
    """

    label: Any
    n: int
    mean: np.ndarray
    cov: np.ndarray
    blocks: list[Block] = field(default_factory=list)
    h1_loglik: float = float("nan")
    missing: bool = False

    @cached_property
    def patterns(self) -> Any:
        """The blocks packed for batched linear algebra (:class:`.missing.Patterns`)."""
        from .missing import pack

        return pack(self.blocks, len(self.mean))

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without :attr:`patterns` (rebuilt from the blocks when next used): the
        packed ``B x p x p`` arrays and the last pattern terms are ~5 MB for a 40-variable
        FIML model, and the report sends its invariance results from a forked process."""
        state = self.__dict__.copy()
        state.pop("patterns", None)
        return state

    @property
    def data(self) -> np.ndarray | None:
        """The complete-data matrix (``None`` with missing data or without raw data)."""
        if self.missing or len(self.blocks) != 1:
            return None
        return self.blocks[0].data


def _moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = values.mean(axis=0)
    centred = values - mean
    cov = centred.T @ centred / values.shape[0]
    return mean, (cov + cov.T) / 2.0


def group_stats(values: np.ndarray, label: Any = None, *, missing: str = "listwise",
                keep_data: bool = True) -> GroupStats:
    """Sample statistics of one group.

    ``missing = "listwise"``: ``values`` must be complete (the caller drops incomplete rows).
    ``missing = "fiml"``: rows with every value missing must already be dropped; the rows are
    grouped by pattern and the saturated moments estimated by EM.
    """
    n, p = values.shape
    if missing != "fiml" or not np.isnan(values).any():
        mean, cov = _moments(values)
        ll = -n / 2.0 * (p * np.log(2 * np.pi) + np.linalg.slogdet(cov)[1] + p)
        block = Block(None, n, mean, cov, values if keep_data else None)
        return GroupStats(label, n, mean, cov, [block], float(ll), missing=False)
    from .missing import em_moments, pack, pattern_blocks

    blocks = pattern_blocks(values)
    pat = pack(blocks, p)
    mean, cov, ll = em_moments(blocks, p, n, pat=pat)
    out = GroupStats(label, n, mean, cov, blocks, ll, missing=True)
    out.__dict__["patterns"] = pat  # the cached property: packed once, shared with EM
    return out


def check_sample(values: np.ndarray, names: list[str], label: Any = None) -> None:
    """Enough cases, no constant item, no perfectly collinear items (clear errors).

    With missing values (FIML) the checks use each item's observed values and the pairwise
    complete correlations.
    """
    where = "" if label is None else f" in group '{label}'"
    n, p = values.shape
    observed = ~np.isnan(values)
    if n <= p:
        word = "complete " if observed.all() else ""
        raise DataError(
            f"{n} {word}respondent(s){where} for {p} items: a CFA needs more respondents "
            "than items",
            hint="collect more responses or analyse fewer items",
        )
    empty = [names[j] for j in range(p) if observed[:, j].sum() < 2]
    if empty:
        raise DataError(f"item(s) {', '.join(empty)} have fewer than 2 answers{where}",
                        column=empty[0], hint="drop items nobody answered")
    sd = np.nanstd(values, axis=0)
    first = np.array([values[observed[:, j], j][0] for j in range(p)])
    const = [names[j] for j in range(p) if not sd[j] > 1e-12 * max(1.0, abs(first[j]))]
    if const:
        raise DegenerateDataError(
            f"item(s) {', '.join(const)} have no variance{where} (every answer the same)",
            column=const[0], hint="drop constant items from the model",
        )
    if not observed.all():
        # FIML: every pair must be observed together somewhere; a pairwise correlation matrix
        # need not be positive definite, the EM estimate is checked instead
        together = observed.T.astype(float) @ observed.astype(float)
        if (together < 2).any():
            i, k = np.argwhere(together < 2)[0]
            raise DataError(f"items {names[i]} and {names[k]} are (almost) never answered "
                            f"together{where}", hint="their covariance cannot be estimated")
        return
    corr = np.corrcoef(values, rowvar=False)
    eig = np.linalg.eigvalsh(corr)
    if eig[0] < 1e-10:
        hi = np.argwhere(np.triu(np.abs(corr) > 1 - 1e-10, 1))
        pair = f" (e.g. {names[hi[0][0]]} and {names[hi[0][1]]})" if len(hi) else ""
        raise DegenerateDataError(
            f"the items{where} are perfectly collinear{pair}: their covariance matrix is "
            "singular",
            hint="drop duplicated or derived items",
        )
