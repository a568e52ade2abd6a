"""Type-checked by mypy (tests/test_typing.py), never run: the public API as a user's typed
code calls it. An error here means a public signature or return type is wrong."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

import empathy_metrics as em
from empathy_metrics import plots
from empathy_metrics.cohorts import GroupComparisonResult, ReliabilityByTimeResult, TrendResult
from empathy_metrics.instruments import Instrument, Item, resolve_instrument


def usage(data: pd.DataFrame) -> None:
    inst: Instrument = em.load_instrument("jse-s")
    mine: Instrument = em.load_instrument({"id": "x", "name": "X",
                                           "response_scale": {"min": 1, "max": 5},
                                           "items": [{"id": "Q1"}, {"id": "Q2"}],
                                           "scoring": {"method": "sum"}})
    code = em.Instrument(id="y", name="Y", items=(Item("Q1"), Item("Q2")), response_min=1,
                         response_max=5, max_missing={"total": 1})
    cols: Instrument = Instrument.from_columns(["Q1", "Q2"], response_min=1, response_max=5)
    listed: Instrument = resolve_instrument(["Q1", "-Q2"], data)
    scores: em.ScoreResult = em.score(data, inst, id_col="id")
    frame: pd.DataFrame = scores.to_frame()
    counts: dict[str, int] = scores.flag_counts()
    keyed: pd.DataFrame = em.keyed_items(data, mine)
    alpha: float = em.reliability(data, ["Q1", "Q2"], ci="bca", n_boot=100)["total"].alpha
    fa = em.efa(data, "jse-s", n_factors=3, correlation="polychoric")
    loadings: pd.DataFrame = fa.loadings
    fit = em.cfa(data, code).fit
    tr: TrendResult = em.trend(data, "jse-s", time="year", id="id", min_cell=10)
    cg: GroupComparisonResult = em.compare_groups(data, cols, group="gender", reference="f")
    by: ReliabilityByTimeResult = em.reliability_by(data, "jse-s", by="site")
    sim: pd.DataFrame = em.simulate(n_per_cohort=10, seed=1)
    fig: Figure = plots.trend_plot(tr, ncols=2)
    fig.savefig("trend.png", dpi=300)
    print(listed, frame, counts, keyed, alpha, loadings, fit, cg.to_frame(), by, sim)
