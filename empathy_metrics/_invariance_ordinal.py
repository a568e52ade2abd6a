"""Ordinal measurement invariance (WLSMV) with the Wu & Estabrook (2016) identification.

Used by :func:`empathy_metrics.cfa.invariance` with ``estimator = "wlsmv"``. Four
multi-group models of the latent responses behind ordered answers, as
``semTools::measEq.syntax(..., ordered = items, parameterization = "delta",
ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group.equal = <step>)`` fitted by lavaan's
WLSMV (layout in :mod:`empathy_metrics._sem.ordinal_model`):

1. *configural*: same factors and items, every threshold and loading free per group;
2. *thresholds*: thresholds equal across groups (item intercepts and scaling factors free in
   the later groups, so this step only tests whether the categories are cut at the same
   places of the latent response);
3. *metric*: thresholds and loadings equal (factor variances free in the later groups);
4. *scalar*: thresholds, loadings and intercepts equal (latent means free in the later
   groups): differences in answers then reflect differences in the factors.

Successive models are compared by lavaan's default difference test for the scaled-shifted
statistic (``lavTestLRT`` -> ``method = "satorra.2000"``, see
:func:`empathy_metrics._sem.dwls.satorra_2000`) and by ΔCFI/ΔRMSEA of the scaled indices.

Assumptions: as WLSMV (normal latent responses, complete cases or pairwise-present answers
missing completely at random, independent respondents);
every item has at least three categories (with binary items the thresholds step is not
identified in this way: Wu & Estabrook 2016, section 5) and every category is used in every
group.

Reference: Wu H, Estabrook R (2016). Identification of confirmatory factor analysis models of
different levels of invariance for ordered categorical outcomes. *Psychometrika*
81:1014-1045. Satorra A (2000). Scaled and adjusted restricted tests in multi-sample analysis
of moment structures. In Heijmans, Pollock & Satorra (eds), *Innovations in Multivariate
Statistical Analysis*, 233-247. Kluwer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from . import _cfa_input as _input
from . import _sem
from ._sem import ModelSpec
from ._sem.dwls import satorra_2000
from .errors import InputError

if TYPE_CHECKING:
    from ._invariance import InvarianceResult
    from .cfa import CFAResult

__all__ = ["ordinal_invariance", "STEPS"]

#: (name, group_equal) of the Wu & Estabrook sequence
STEPS = (("configural", ()), ("thresholds", ("thresholds",)),
         ("metric", ("thresholds", "loadings")),
         ("scalar", ("thresholds", "loadings", "intercepts")))


def _compare(free: CFAResult, restricted: CFAResult, name: str, cfi_cutoff: float,
             rmsea_cutoff: float | None) -> dict[str, Any]:
    """One nested comparison: Satorra (2000) scaled-shifted difference, ΔCFI and ΔRMSEA of
    the scaled indices (restricted minus free)."""
    test = satorra_2000(free._estimate, restricted._estimate)
    dcfi = restricted.fit["cfi_scaled"] - free.fit["cfi_scaled"]
    drmsea = restricted.fit["rmsea_scaled"] - free.fit["rmsea_scaled"]
    holds = dcfi >= -cfi_cutoff - 1e-12
    if rmsea_cutoff is not None:
        holds = holds and drmsea <= rmsea_cutoff + 1e-12
    return {"comparison": name, **test, "delta_cfi": dcfi, "delta_rmsea": drmsea,
            "holds": bool(holds)}


def _threshold_text(row: pd.Series, across: str) -> str:
    crit = f"ΔCFI = {row.delta_cfi:.3f}, ΔRMSEA = {row.delta_rmsea:.3f}"
    if row.holds:
        return (f"Threshold invariance holds {across} ({crit}): the answer categories "
                "cut the latent responses at the same places in every group. ")
    return (f"Threshold invariance does not hold {across} ({crit}): the groups use the "
            "answer categories differently, so even equal latent levels give different "
            "answers; the later steps below are tested on top of equal thresholds and cannot "
            "make the scores comparable. ")


def _check_categories(stats_g: list[Any], spec: ModelSpec, source: str | None) -> None:
    binary = [v for v, t in zip(spec.observed, stats_g[0].thresholds, strict=True)
              if len(t) < 2]
    if binary:
        raise InputError(
            f"item(s) {', '.join(binary)} have only two categories; the ordinal invariance "
            "steps (Wu & Estabrook 2016) need at least three categories per item",
            file=source,
            hint="drop the binary items from the model, or test invariance with estimator "
                 "'mlr' (items treated as continuous)")


def ordinal_invariance(responses: pd.DataFrame, frame: pd.DataFrame, spec: ModelSpec,
                       group: str, source: str | None, *, missing: str, cfi_cutoff: float,
                       rmsea_cutoff: float | None, partial: bool, note: str,
                       label: str | None = None) -> InvarianceResult:
    """The four Wu & Estabrook models, their comparisons and the verdict (module
    docstring); returns an :class:`~empathy_metrics.cfa.InvarianceResult` whose ``models``
    and ``comparisons`` include the thresholds step."""
    from ._invariance import InvarianceResult, _across, _verdict, _warn_improper
    from .cfa import result_from

    spec = _input.with_std_lv(spec, True)
    stats_g, labels, n_dropped = _input.ordinal_data(responses, frame, spec, group, source,
                                                     missing)
    _check_categories(stats_g, spec, source)
    models = {}
    for name, equal in STEPS:
        est = _sem.fit_dwls(spec, stats_g, equal=equal)
        models[name] = result_from(est, spec, n_dropped, labels,
                                   f"{name.capitalize()} model (WLSMV)", missing)
    _warn_improper(models)
    names = [name for name, _ in STEPS]
    comp = pd.DataFrame([
        _compare(models[a], models[b], f"{b} vs {a}", cfi_cutoff, rmsea_cutoff)
        for a, b in zip(names[:-1], names[1:], strict=True)])
    conf = models["configural"].fit
    verdict, sound = _verdict(comp.iloc[1:].reset_index(drop=True),
                              {"cfi": conf["cfi_scaled"], "rmsea": conf["rmsea_scaled"]},
                              _across(group, label), cfi_cutoff, rmsea_cutoff, searched=True)
    verdict = _threshold_text(comp.iloc[0], _across(group, label)) + verdict
    sound = sound and bool(comp.iloc[0]["holds"])
    verdict += (" (Ordered-category models, WLSMV; identification of Wu & Estabrook 2016; "
                "difference tests as lavaan's lavTestLRT, scaled-shifted.)")
    if partial and not comp["holds"].all():
        verdict += (" The stepwise partial-invariance search uses score tests of the "
                    "maximum-likelihood fit, so it is not run for WLSMV: rerun with estimator "
                    "'mlr' to locate the non-invariant items.")
    verdict += note
    return InvarianceResult(
        group=group, groups=labels,
        group_sizes={u: st.n for u, st in zip(labels, stats_g, strict=True)},
        models=models, comparisons=comp, verdict=verdict, sound=sound, n_dropped=n_dropped,
        cfi_cutoff=cfi_cutoff, rmsea_cutoff=rmsea_cutoff, estimator="wlsmv",
        missing=missing)

