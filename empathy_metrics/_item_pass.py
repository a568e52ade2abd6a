"""One pass over an instrument's item codes, in blocks of rows that stay in the CPU cache.

Scoring (:func:`empathy_metrics.scoring.score`), keying
(:func:`empathy_metrics.scoring.keyed_items`) and the listwise moments of
:func:`empathy_metrics.reliability.reliability` read the item columns as they are stored
(:func:`empathy_metrics.io.item_arrays`: no float matrix is built first) and share one test
per cell. In each block of about ``_BLOCK_CELLS`` cells the codes are copied into an
items x rows buffer and

* a code ``x`` is *answered* when ``min <= x <= max`` and ``x`` is whole; with ``c =
  rint(min(max(x, lo), hi))`` (``fmax``/``fmin``: ``NaN`` becomes ``lo``) that is exactly
  ``c == x`` (``NaN`` equals nothing); integer columns (whole, never ``NaN``) skip ``rint``;
* ``x0 = c · answered`` is the answered code or 0, so every per-respondent sum the callers
  need is a sum over buffer rows of ``x0`` or of the 0/1 answered matrix, or a product of
  ``x0`` with itself (see :func:`score_codes` and :func:`listwise_moments`).

Every buffer is allocated once per pass: a fresh temporary larger than the allocator's
mmap threshold (128 kB) per block would cost page faults each time.
All sums are of whole numbers far below 2**53, hence exact in floating point whatever the
summation order (the blocks and BLAS do not change a result).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._blas import single_thread_blas
from .instruments import Instrument

#: Cells per block: a block's buffers (a few arrays of items x rows) stay in the CPU cache,
#: so the codes are read from memory once.
_BLOCK_CELLS = 1 << 16


@dataclass
class Codes:
    """An instrument's item codes as read: one 1-D array per item (any real dtype).

    ``keep`` holds what keeps the arrays unchanged while a result refers to them (a shallow
    copy of the frame under copy-on-write; see :func:`read_codes`).
    """

    arrays: list[np.ndarray]
    index: pd.Index
    inst: Instrument
    keep: Any = None

    @property
    def n(self) -> int:
        return len(self.index)

    @property
    def k(self) -> int:
        return len(self.arrays)

    def matrix(self) -> np.ndarray:
        """The ``(n, k)`` float codes (a new column-major array)."""
        from .item_columns import stack_codes

        return stack_codes(self.arrays)


def _copy_on_write() -> bool:
    """Whether pandas copies a block before writing to it while another frame shares it."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return pd.options.mode.copy_on_write is True  # pragma: no cover - pandas 2


def read_codes(responses: pd.DataFrame, inst: Instrument, columns: Any = None, *,
               snapshot: bool = False) -> Codes:
    """The item codes of ``responses`` (:func:`empathy_metrics.io.item_arrays`).

    With ``snapshot`` the codes must not change when the caller later edits ``responses``
    (a result reads them lazily): under copy-on-write a shallow copy of the frame is kept,
    which makes pandas copy a block before writing to it; otherwise the arrays that are
    views of the frame are copied now.
    """
    from .item_columns import item_arrays

    arrays = item_arrays(responses, inst, columns=columns)
    keep = None
    if snapshot:
        if _copy_on_write():
            keep = responses.copy(deep=False)
        else:  # pragma: no cover - pandas 2 without copy-on-write
            arrays = [np.array(a) if np.shares_memory(a, responses.values) else a
                      for a in arrays]
    return Codes(arrays, responses.index, inst, keep)


@dataclass
class _Block:
    """One block of rows: ``x`` the codes (items x rows, floats), ``ok`` answered, ``x0`` the
    answered codes with 0 elsewhere (buffers reused by the next block)."""

    rows: slice
    x: np.ndarray
    ok: np.ndarray
    x0: np.ndarray
    integer: bool = False  # integer codes: no NaN

    def n_ok(self) -> int:
        return int(np.count_nonzero(self.ok))

    def bad(self) -> np.ndarray:
        """Out-of-range (present but not answered) cells."""
        return ~self.ok & ~np.isnan(self.x)


def _step(k: int, block_cells: int | None) -> int:
    """Rows per block."""
    return max(1, (_BLOCK_CELLS if block_cells is None else block_cells) // max(k, 1))


def _blocks(codes: Codes, block_cells: int | None = None,
            order: list[int] | None = None) -> Iterator[_Block]:
    """The rows of ``codes`` in blocks of about ``block_cells`` cells (see the module); with
    ``order``, buffer row ``j`` holds item ``order[j]``."""
    k, n = codes.k, codes.n
    step = _step(k, block_cells)
    lo, hi = float(codes.inst.response_min), float(codes.inst.response_max)
    size = min(step, n)
    buf, cbuf = np.empty((k, size)), np.empty((k, size))
    arrays = codes.arrays if order is None else [codes.arrays[j] for j in order]
    integer = all(a.dtype.kind in "iu" for a in arrays)  # whole numbers, never NaN
    okbuf = np.empty((k, size), dtype=bool)
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        x, c, ok = buf[:, :r1 - r0], cbuf[:, :r1 - r0], okbuf[:, :r1 - r0]
        for j, values in enumerate(arrays):
            x[j] = values[r0:r1]
        np.fmax(x, lo, out=c)
        np.fmin(c, hi, out=c)
        if not integer:
            np.rint(c, out=c)
        np.equal(c, x, out=ok)
        np.multiply(c, ok, out=c)
        yield _Block(slice(r0, r1), x, ok, c, integer)


def _keying(inst: Instrument) -> tuple[np.ndarray, np.ndarray]:
    """Per item ``(sign, shift)``: keyed = ``sign * x + shift`` (reverse keying ``min + max -
    x`` for reverse-keyed items: ``sign = -1``, ``shift = min + max``; otherwise 1 and 0)."""
    rev = np.array([it.reverse for it in inst.items], dtype=bool)
    sign = np.where(rev, -1.0, 1.0)
    shift = np.where(rev, float(inst.response_min + inst.response_max), 0.0)
    return sign, shift


def _membership(inst: Instrument) -> np.ndarray:
    """The 0/1 items x scales membership matrix."""
    pos = {iid: j for j, iid in enumerate(inst.item_ids)}
    member = np.zeros((len(pos), len(inst.scales)))
    for c, ids in enumerate(inst.scales.values()):
        member[[pos[i] for i in ids], c] = 1.0
    return member


def keyed_codes(codes: Codes) -> tuple[np.ndarray, np.ndarray]:
    """Keyed scores ``(n, k)`` (column-major; ``NaN`` where not answered) and the number of
    out-of-range codes per item."""
    sign, shift = _keying(codes.inst)
    keyed = np.empty((codes.k, codes.n))
    oor = np.zeros(codes.k, dtype=np.int64)
    for b in _blocks(codes):
        kv = keyed[:, b.rows]
        np.multiply(b.x0, sign[:, None], out=kv)
        kv += shift[:, None]
        kv[~b.ok] = np.nan
        oor += b.bad().sum(axis=1)
    return keyed.T, oor


@dataclass
class ScorePass:
    """What :func:`score_codes` yields."""

    oor_by_item: np.ndarray   # (k,) out-of-range codes per item
    oor_by_row: np.ndarray    # (n,) out-of-range codes per respondent
    n_answered: np.ndarray    # (n,) answered items
    scores: np.ndarray        # (scales, n) scale scores, NaN when unscorable
    same: np.ndarray          # (n,) every answered code the same (none answered: True)


@dataclass
class _Segments:
    """Items grouped into runs with the same scales and keying (see :func:`score_codes`)."""

    order: list[int]                  # buffer row -> item
    bounds: list[tuple[int, int]]     # buffer rows of each run
    weights: np.ndarray               # (2 scales + 2) x (2 runs)


def _segments(inst: Instrument) -> _Segments:
    """Runs of items with the same scale membership and keying, and the weights ``W`` with
    ``W @ [F; C]`` = per scale the keyed sum and the number answered, then the row's sum of
    answered codes and their number (``F``, ``C``: per run the sum of the answered codes and
    their number)."""
    sign, shift = _keying(inst)
    member = _membership(inst)
    keys = [(tuple(member[j]), bool(sign[j] < 0)) for j in range(member.shape[0])]
    order = sorted(range(len(keys)), key=lambda j: (keys[j], j))
    bounds: list[tuple[int, int]] = []
    for pos, j in enumerate(order):
        if bounds and keys[order[bounds[-1][0]]] == keys[j]:
            bounds[-1] = (bounds[-1][0], pos + 1)
        else:
            bounds.append((pos, pos + 1))
    s, g = member.shape[1], len(bounds)
    w = np.zeros((2 * s + 2, 2 * g))
    for i, (a, _) in enumerate(bounds):
        j = order[a]
        w[:s, i] = member[j] * sign[j]
        w[:s, g + i] = member[j] * shift[j]
        w[s:2 * s, g + i] = member[j]
    w[2 * s, :g] = 1.0
    w[2 * s + 1, g:] = 1.0
    return _Segments(order, bounds, w)


def score_codes(codes: Codes, block_cells: int | None = None) -> ScorePass:
    """Per respondent: scale scores under the missing rule, answered and out-of-range counts,
    and whether every answered code is the same, in one pass.

    Algorithm: the items are taken in runs with the same scales and keying
    (:func:`_segments`; 6 runs for the JSE-S); per block, each run's sum of answered codes
    ``F`` and number answered ``C`` are sums over contiguous buffer rows, and one small
    product ``W @ [F; C]`` gives each scale's keyed sum ``Σ sign·x + shift`` over the answered
    items and their number, turned into scores by :func:`_block_scores`; the row's answered
    codes are all the same iff ``m·Σx² = (Σx)²`` (Cauchy-Schwarz with equality; exact for
    whole codes). Out-of-range counts are computed only in blocks that have some. Every
    buffer is allocated once (a fresh large temporary per block costs page faults).
    """
    inst = codes.inst
    n, k = codes.n, codes.k
    seg = _segments(inst)
    rule = _missing_rule(inst)
    out = ScorePass(oor_by_item=np.zeros(k, dtype=np.int64),
                    oor_by_row=np.zeros(n, dtype=np.int64), n_answered=np.empty(n, np.int64),
                    scores=np.empty((len(inst.scales), n)), same=np.empty(n, dtype=bool))
    size = min(_step(k, block_cells), n)
    g = len(seg.bounds)
    bufs = (np.empty((2 * g, size)), np.empty((g, size), dtype=np.uint8 if k < 256
                                               else np.uint16),
            np.empty((seg.weights.shape[0], size)), np.empty(size),
            np.empty((k, size), dtype=bool))
    # small products: threads cost more than they save; 0/0 (nothing answered) is NaN
    with single_thread_blas(), np.errstate(invalid="ignore", divide="ignore"):
        for b in _blocks(codes, block_cells, seg.order):
            _score_block(b, seg, rule, bufs, out)
    inverse = np.argsort(seg.order)
    out.oor_by_item = out.oor_by_item[inverse]
    return out


def _score_block(b: _Block, seg: _Segments, rule: tuple[Any, ...],
                 bufs: tuple[np.ndarray, ...], out: ScorePass) -> None:
    """One block of :func:`score_codes` (buffer rows in ``seg.order``)."""
    k, r = b.x.shape
    s = len(rule[0])
    g = len(seg.bounds)
    fc, c8, sums, sq, nan = (a[..., :r] for a in bufs)
    ok8 = b.ok.view(np.uint8)
    for i, (lo, hi) in enumerate(seg.bounds):
        np.add.reduce(b.x0[lo:hi], axis=0, out=fc[i])
        np.add.reduce(ok8[lo:hi], axis=0, out=c8[i])
    np.copyto(fc[g:], c8)
    if r == bufs[2].shape[1]:
        np.dot(seg.weights, fc, out=sums)  # into the buffer: no fresh pages per block
    else:  # the last, shorter block
        sums = seg.weights @ fc
    m = sums[2 * s + 1]
    out.n_answered[b.rows] = m
    _block_scores(sums[:s], sums[s:2 * s], *rule, out=out.scores[:, b.rows])
    np.einsum("ij,ij->j", b.x0, b.x0, out=sq)
    sq *= m
    np.equal(sq, np.square(sums[2 * s], out=sums[2 * s]), out=out.same[b.rows])
    n_nan = 0 if b.integer else np.count_nonzero(np.isnan(b.x, out=nan))
    if int(m.sum()) + n_nan < k * r:
        bad = b.bad()
        out.oor_by_item += bad.sum(axis=1)
        out.oor_by_row[b.rows] = bad.sum(axis=0)


def _missing_rule(inst: Instrument) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per scale: number of items ``k``, unanswered items allowed, and whether scores are sums."""
    scales = inst.scales
    k = np.array([len(ids) for ids in scales.values()], dtype=float)
    allowed = np.array([inst.max_missing_for(s) for s in scales], dtype=float)
    return k, allowed, inst.method == "sum"


def _block_scores(sums: np.ndarray, counts: np.ndarray, k: np.ndarray, allowed: np.ndarray,
                  as_sum: bool, *, out: np.ndarray) -> None:
    """Scale scores (scales x rows) into ``out`` from the sums and numbers of the answered
    keyed items: ``k · sum / answered`` (``method: sum``) or ``sum / answered`` (``mean``)
    when at most ``allowed`` items are unanswered, else ``NaN`` (person-mean replacement, see
    :func:`empathy_metrics.scoring.score`). As the counts are whole numbers, "more than
    ``allowed`` unanswered or none answered" is ``answered < max(k - allowed, 1)``. Call
    under ``np.errstate(invalid="ignore", divide="ignore")`` (0/0 rows become NaN anyway).
    """
    np.divide(sums, counts, out=out)
    if as_sum:
        out *= k[:, None]
    np.copyto(out, np.nan, where=counts < np.maximum(k - allowed, 1.0)[:, None])


@dataclass
class Moments:
    """Complete-case ``n``, keyed item means and covariance matrix of one scale."""

    n: int
    mean: np.ndarray
    cov: np.ndarray


def listwise_moments(codes: Codes, scales: dict[str, list[int]],
                     block_cells: int | None = None) -> tuple[dict[str, Moments], np.ndarray]:
    """Per scale, the means and covariances of its keyed items over the respondents who
    answered all of them (listwise), in one pass; and the out-of-range codes per item.

    Algorithm: the rows of a block on which every code is answered (all rows of most blocks
    when little is missing) add ``x0 x0'`` and ``x0 1`` to one shared ``k x k``
    cross-product and ``k`` sum (one BLAS product for all scales); of the other rows, each
    scale adds those complete on its items. With the whole-number sums ``S``, ``s`` (exact)
    the raw covariance is ``(n S - s s') / (n (n - 1))``, computed in integers and rounded
    once; keying is affine per item (``sign · x + shift``), so the keyed covariance is ``D C
    D`` (``D = diag(sign)``) and the keyed mean ``sign · s/n + shift``.
    """
    k = codes.k
    sign, shift = _keying(codes.inst)
    full = [0, np.zeros(k), np.zeros((k, k))]
    part = {name: [0, np.zeros(len(idx)), np.zeros((len(idx),) * 2)]
            for name, idx in scales.items()}
    oor = np.zeros(k, dtype=np.int64)
    rows = {name: np.asarray(idx, dtype=np.intp) for name, idx in scales.items()}
    with single_thread_blas():  # 20-column products: threads cost more than they save
        for b in _blocks(codes, block_cells):
            r = b.rows.stop - b.rows.start
            n_ok = b.n_ok()
            if n_ok == k * r:
                _add_rows(full, b.x0)
                continue
            if b.integer or n_ok + np.count_nonzero(np.isnan(b.x)) < k * r:
                oor += b.bad().sum(axis=1)
            complete = b.ok.all(axis=0)
            rest = ~complete
            x_rest, ok_rest = b.x0[:, rest], b.ok[:, rest]
            for name, idx in rows.items():
                _add_rows(part[name], x_rest[idx][:, ok_rest[idx].all(axis=0)])
            b.x0 *= complete  # zero the incomplete rows: x0 x0' then sums the complete ones
            full[0] += int(np.count_nonzero(complete)) - r
            _add_rows(full, b.x0)
    out = {}
    for name, idx in scales.items():
        ix = np.ix_(idx, idx)
        n, s, cross = part[name]
        out[name] = _keyed_moments(n + full[0], s + full[1][idx], cross + full[2][ix],
                                   sign[idx], shift[idx])
    return out, oor


def _add_rows(acc: list[Any], x: np.ndarray) -> None:
    """Add the respondents (columns) of ``x`` to ``acc = [n, sums, cross-products]``."""
    acc[0] += x.shape[1]
    acc[1] += x.sum(axis=1)
    acc[2] += x @ x.T


def _keyed_moments(n: int, s: np.ndarray, cross: np.ndarray, sign: np.ndarray,
                   shift: np.ndarray) -> Moments:
    """Keyed means and covariance from the exact raw sums (see :func:`listwise_moments`):
    ``n S - s s'`` in 64-bit integers (Python integers if it could overflow), then one
    division (a second rounding only if an entry exceeds 2**53)."""
    k = s.size
    if n < 2:
        return Moments(n, np.full(k, np.nan), np.full((k, k), np.nan))
    big = max(float(np.abs(cross).max(initial=0.0)) * n, float(np.abs(s).max(initial=0.0)) ** 2)
    if big < 2.0**62:
        num = n * np.rint(cross).astype(np.int64)
        si = np.rint(s).astype(np.int64)
    else:  # pragma: no cover - more than ~10^8 respondents
        num = n * np.array([[int(v) for v in row] for row in cross], dtype=object)
        si = np.array([int(v) for v in s], dtype=object)
    num -= np.outer(si, si)
    cov = (num / (n * (n - 1))).astype(float) * np.outer(sign, sign)
    return Moments(n, sign * (s / n) + shift, cov)
