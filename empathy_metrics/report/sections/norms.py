"""Comparison with the published norms the instrument definition carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
        tn = ctx.tr.norms
        for norm in norms:
            base = {"scale": norm.scale, "norm_group": norm.group, "norm_mean": norm.mean,
                    "norm_sd": norm.sd}
            if norm.group == "all":  # computed by trend for the shown times
                for t in ctx.times:
                    hit = (tn[(tn["scale"] == norm.scale) & (tn["time"] == t)]
                           if not tn.empty else tn)
                    if len(hit) and ctx.shown.get((norm.scale, t), False):
                        r = hit.iloc[0]
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
            for t in ctx.times:
                hit = gs[(gs["scale"] == norm.scale) & (gs["time"] == t) & (gs[ctx.group] == g)]
                ok = bool(len(hit)) and not bool(hit["suppressed"].iloc[0])
                # hidden as the group's cell is (small, or its complement)
                small = not len(hit) or bool(hit["primary_suppressed"].iloc[0])
                row = {**base, "time": t, "suppressed": not ok,
                       "primary_suppressed": not ok and small}
                if ok:
                    mask = ((ctx.frame[ctx.time] == t) & (ctx.frame[ctx.group] == g)).to_numpy()
                    res = norm_scores(scores.loc[mask, norm.scale].dropna(), inst, norm.scale,
                                      norm.group)
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
