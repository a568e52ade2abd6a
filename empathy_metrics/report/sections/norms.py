"""Comparison with the published norms the instrument definition carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._context import Context
from .._tables import Column, Section, Table
from . import SectionSpec

#: Group labels treated as the norm groups' names (norms say "women"/"men").
_NORM_SYNONYMS = {"women": ("women", "woman", "female", "f"), "men": ("men", "man", "male", "m")}


def _norm_label(norm_group: str, labels: Mapping[str, Any]) -> Any:
    """The data's group label matching a norm group (case-insensitive, with synonyms)."""
    for name in _NORM_SYNONYMS.get(norm_group.casefold(), (norm_group.casefold(),)):
        if name in labels:
            return labels[name]
    return None


def _norms(ctx: Context, section: Section) -> None:
    from ...norms import norm_scores

    inst, time = ctx.inst, ctx.tw
    norms = [n for n in inst.norms if n.scale in ctx.tr.scales]
    if not norms:
        section.unavailable = f"The {inst.id} definition carries no published norms."
        ctx.run.step()
        return
    scores = ctx.scored.scores
    glabels = ({str(v).casefold(): v for v in ctx.frame[ctx.group].dropna().unique()}
               if ctx.group else {})
    gs = ctx.tr.group_stats
    rows = []

    def add_rows() -> None:
        # the trend's norm rows and the group cells' flags looked up by key (first match),
        # the masks on arrays: no frame filtered per norm and time
        tn = ctx.tr.norms
        tn_rows: dict[tuple[Any, Any], dict[str, Any]] = {}
        for r in ([] if tn.empty else tn.to_dict("records")):
            tn_rows.setdefault((r["scale"], r["time"]), r)
        cells: dict[tuple[Any, Any, Any], tuple[bool, bool]] = {}
        if ctx.group and not gs.empty:
            for key, sup, prim in zip(zip(gs["scale"].tolist(), gs["time"].tolist(),
                                          gs[ctx.group].tolist(), strict=True),
                                      gs["suppressed"].tolist(),
                                      gs["primary_suppressed"].tolist(), strict=True):
                cells.setdefault(key, (bool(sup), bool(prim)))
        tv = ctx.frame[ctx.time].to_numpy()
        gv = ctx.frame[ctx.group].to_numpy() if ctx.group else None
        for norm in norms:
            base = {"scale": norm.scale, "norm_group": norm.group, "norm_mean": norm.mean,
                    "norm_sd": norm.sd}
            if norm.group == "all":  # computed by trend for the shown times
                for t in ctx.times:
                    r = tn_rows.get((norm.scale, t))
                    if r is not None and ctx.shown.get((norm.scale, t), False):
                        rows.append({**base, "time": t, "n": int(r["n"]),
                                     "mean_z": r["mean_z"],
                                     "median_percentile": r["median_percentile"],
                                     "method": r["method"], "suppressed": False})
                    else:
                        rows.append({**base, "time": t, "suppressed": True,
                                     "primary_suppressed": ctx.time_small.get(t, True)})
                continue
            g = _norm_label(norm.group, glabels)
            if g is None or gs.empty:
                continue
            y = scores[norm.scale].to_numpy(dtype=float)
            for t in ctx.times:
                hit = cells.get((norm.scale, t, g))
                ok = hit is not None and not hit[0]
                # hidden as the group's cell is (small, or its complement)
                small = hit is None or hit[1]
                row = {**base, "time": t, "suppressed": not ok,
                       "primary_suppressed": not ok and small}
                if ok:
                    x = y[(tv == t) & (gv == g)]
                    res = norm_scores(x[~np.isnan(x)], inst, norm.scale, norm.group)
                    d = res.to_dict()
                    row.update(n=int(res.scores["score"].notna().sum()),
                               mean_z=d["sample"]["mean_z"],
                               median_percentile=d["sample"]["median_percentile"],
                               method=res.method)
                rows.append(row)

    ctx.run(section, "The comparison with norms", add_rows)
    if not rows:
        section.unavailable = "No norm matches the scales or groups in these data."
        return
    section.para(
        "Scores are compared with the published norms carried by the instrument definition: "
        "the mean z-score ((score − norm mean) / norm SD) and the median percentile rank of "
        f"the students in each {time}. A mean z of 0 is the norm group's average. Norm "
        "samples differ from any one school; treat this as context, not a benchmark.")
    section.add(Table(
        "norms", "Scores against published norms", ctx.with_names(pd.DataFrame(rows)),
        [Column.text("scale_name", "Scale"),
         Column("Norm group", lambda r: str(r.get("norm_group", "")).capitalize(),
                numeric=False, key=True),
         ctx.vcol("time", ctx.time), Column.int("n", "n"),
         Column.num("norm_mean", "Norm mean", 1), Column.num("norm_sd", "Norm SD", 1),
         Column.num("mean_z", "Mean z", 2, True),
         Column.num("median_percentile", "Median percentile", 0)],
        keys=("norm_group", "norm_mean", "norm_sd"), min_cell=ctx.min_cell))
    for norm in norms:
        pop = f" ({norm.population})" if norm.population else ""
        section.bullets.append(f"{ctx.name(norm.scale)}, {norm.group.capitalize()}{pop}: "
                               f"{norm.citation}")


SECTION = SectionSpec("norms", 50, lambda ctx: "Comparison with published norms", _norms)
