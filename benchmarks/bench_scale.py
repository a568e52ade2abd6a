"""Issue 10's speed and memory at scale: scoring against a one-pass floor, alpha + Feldt CI of
every scale against pingouin per scale, and the peak memory of bootstrap alpha.

Sizes: ``--scale-sizes`` respondents (default 10^4, 10^5, 10^6) x 20 JSE-S items; the
bootstrap (2,000 resamples, 4 scales) runs at the largest size only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from _timing import Row, Timing, _ratio_at_least, best_of, guarded, peak_memory

SCALE_SIZES = (10_000, 100_000, 1_000_000)


def jse_frame(frame: pd.DataFrame) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """The generated answers as the 20 JSE-S items (4 scales), and their keyed matrix."""
    from empathy_metrics.instruments import load_instrument
    from empathy_metrics.scoring import keyed_items

    inst = load_instrument("jse-s")
    data = frame.iloc[:, :len(inst.item_ids)].set_axis(inst.item_ids, axis=1)
    return inst, data, keyed_items(data, inst)


def bench_score(make: Callable[[int], pd.DataFrame], sizes: tuple[int, ...],
                repeat: int) -> list[Row]:
    """``score(data, "jse-s")`` (keying, range checks, 4 scale scores under the missing rule,
    flags) beside the floor: one pass over the same codes (``np.add.reduce`` of the float
    matrix, i.e. reading it once). ratio = floor / ours: 1 would be the memory-bandwidth
    floor; issue 10 measured 0.63 s vs ~20 ms (0.03) at 10^6 x 20 before."""
    from empathy_metrics.scoring import score

    rows = []
    for n in sizes:
        print(f"  scoring, {n:,} x 20 ...", flush=True)
        inst, data, _ = jse_frame(make(n))
        data = data.astype(float)
        data = data.mask(np.random.default_rng(1).random(data.shape) < 0.01)  # 1 % skipped
        codes = data.to_numpy()

        def floor(codes: np.ndarray = codes) -> None:
            np.add.reduce(codes, axis=None)

        def ours(data: pd.DataFrame = data, inst: Any = inst) -> None:
            score(data, inst)

        rows.append(Row(f"score jse-s, {n:,} x 20", best_of(ours, repeat),
                        "one pass over the codes (floor)", best_of(floor, max(repeat, 5)),
                        "near the floor (ratio -> 1)"))
    return rows


def bench_reliability(make: Callable[[int], pd.DataFrame], sizes: tuple[int, ...],
                      repeat: int) -> list[Row]:
    """Issue 10 item 2: alpha + Feldt CI of every scale vs pingouin per scale at each size;
    bootstrap alpha of all scales (2,000 resamples, one draw of resample counts per block) at
    the largest size, with its peak memory (target < 1 GB at 10^6 rows; 5.4 GB before)."""
    from empathy_metrics.reliability import reliability

    rows = []
    for n in sizes:
        print(f"  reliability of every scale, {n:,} x 20 ...", flush=True)
        inst, data, keyed = jse_frame(make(n))

        def ours(data: pd.DataFrame = data, inst: Any = inst) -> None:
            reliability(data, inst, omega=False)

        def pingouin(keyed: pd.DataFrame = keyed, inst: Any = inst) -> Timing:
            import pingouin as pg

            def per_scale() -> None:
                for items in inst.scales.values():
                    pg.cronbach_alpha(keyed[list(items)])

            t = best_of(per_scale, repeat)
            t.note = "pingouin.cronbach_alpha (alpha + F-based CI) once per scale, keyed items"
            return t

        rows.append(Row(f"alpha + Feldt CI, {len(inst.scales)} scales, {n:,} rows",
                        best_of(ours, repeat), "pingouin per scale", guarded(pingouin),
                        ">= 1x", _ratio_at_least(1)))
    n = max(sizes)
    print(f"  bootstrap alpha (2000 resamples, 4 scales), {n:,} x 20 ...", flush=True)
    inst, data, _ = jse_frame(make(n))

    def boot() -> None:
        reliability(data, inst, ci="bootstrap", n_boot=2000, seed=1, omega=False)

    boot_time = best_of(boot, 1)
    peak = peak_memory(boot)
    boot_time.note = (f"peak traced memory {peak:,.0f} MB (resample blocks bounded by a memory "
                      "budget)")
    rows.append(Row(f"bootstrap alpha 2000, {len(inst.scales)} scales, {n:,} rows", boot_time,
                    "-", Timing(None), "peak < 1 GB", lambda ours, ratio: peak < 1024))
    return rows
