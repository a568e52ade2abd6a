"""Methods and provenance: methods in words, versions, input SHA-256, options, references."""

from __future__ import annotations

import platform
import time as _time
from pathlib import Path

import numpy as np
import pandas as pd

from .._context import Context
from .._tables import Column, Section, Table
from . import SectionSpec


def _version(module: str) -> str:
    """A package's version, without importing it when this process has not (the figures
    are drawn in a second process, so matplotlib may never be imported here)."""
    import sys

    if module in sys.modules:
        return str(sys.modules[module].__version__)
    from importlib.metadata import version

    return version(module)


def _versions() -> dict[str, str]:
    from ... import __version__

    out = {"empathy-metrics": __version__, "Python": platform.python_version(),
           "numpy": np.__version__, "pandas": pd.__version__, "scipy": _version("scipy"),
           "matplotlib": _version("matplotlib")}
    return out


#: The provenance row of the analysis time; :func:`record_analysis_time` sets it at the end.
ANALYSIS_TIME = "Analysis time"


def record_analysis_time(ctx: Context, section: Section) -> None:
    """Set the provenance's analysis time to the time since the report started, once every
    section is built and the figure worker is done (reading and writing files not counted)."""
    if ANALYSIS_TIME not in ctx.provenance:
        return
    value = f"{_time.perf_counter() - ctx.started:.1f} s (analyses and figures)"
    ctx.provenance[ANALYSIS_TIME] = value
    for table in section.tables:
        if table.name == "provenance":
            table.data.loc[table.data["measure"] == ANALYSIS_TIME, "value"] = value


def _methods(ctx: Context, section: Section) -> dict[str, str]:
    """Methods in words, provenance table (``ctx.provenance``) and references."""
    source, digest, now = ctx.source, ctx.digest, ctx.now
    elapsed = _time.perf_counter() - ctx.started
    inst = ctx.inst
    prov: dict[str, str] = {}
    vers = _versions()
    prov["empathy-metrics version"] = vers.pop("empathy-metrics")
    prov["Instrument"] = f"{inst.name} ({inst.id})"
    prov["Instrument citation"] = inst.citation
    prov["Instrument licence"] = inst.license
    prov["Input file"] = str(Path(source).name) if source is not None else "(data frame)"
    prov["Input SHA-256"] = digest or "(no file)"
    prov["Rows read"] = f"{len(ctx.frame):,}"
    prov["Columns used"] = ", ".join(f"{role} = '{col}'" for role, col in (
        ("time", ctx.time), ("id", ctx.id), ("cohort", ctx.cohort), ("group", ctx.group))
        if col is not None)
    prov["Reference time"] = str(ctx.tr.reference)
    prov["Display labels"] = (Path(ctx.labels.source).name if ctx.labels.source
                              else "given in code" if (ctx.labels.columns or ctx.labels.values)
                              else "defaults (column names, codes)")
    prov["Small-cell threshold"] = (f"{ctx.min_cell} (with complementary suppression, "
                                    "NCES 2011-603)")
    opts = {k: v for k, v in ctx.opts.items() if k != "columns"}
    prov["Options"] = "; ".join(f"{k} = {v}" for k, v in opts.items())
    if ctx.opts.get("columns"):
        prov["Column map"] = ", ".join(f"{k} = {v}" for k, v in ctx.opts["columns"].items())
    prov["Date"] = now.strftime("%Y-%m-%d %H:%M:%S UTC")
    prov["Software"] = ", ".join(f"{k} {v}" for k, v in vers.items())
    prov["Platform"] = platform.platform(terse=True)
    prov[ANALYSIS_TIME] = f"{elapsed:.1f} s"  # up to here; record_analysis_time: to the end
    section.para(
        "Scoring follows the instrument's published key (reverse-keyed items reversed, "
        "person-mean replacement of a few unanswered items). Cross-sectional change: Welch "
        "t intervals, Cohen's d and Hedges' g with noncentral-t intervals; Welch ANOVA, "
        "Kruskal–Wallis, Holm-adjusted adjacent comparisons. Longitudinal change: linear "
        "mixed model with a random intercept per student (REML; t tests and intervals with "
        "Satterthwaite degrees of freedom), paired change and the "
        "Jacobson–Truax reliable change index. Reliability: Cronbach's alpha (Feldt interval). "
        "Factor structure: minres EFA with oblimin rotation and Horn's "
        "parallel analysis; ML CFA; measurement invariance across times: longitudinal "
        "(one model per subscale, residuals correlated across times, full-information ML) "
        "when students are followed, otherwise multi-group. Results agree with R (psych, "
        "lavaan, lme4, lmerTest) as tested in the package's reference tests.")
    section.para(
        f"Privacy: every cell (time × cohort × group) with fewer than {ctx.min_cell} "
        "respondents is suppressed, together with enough neighbouring cells that it cannot be "
        "recovered from totals; the report shows groups, never individual students.")
    section.add(Table("provenance", "Provenance",
                      pd.DataFrame({"measure": list(prov), "value": list(prov.values())}),
                      [Column.text("measure", "Item"), Column.text("value", "Value")],
                      min_cell=ctx.min_cell))
    section.bullets += [
        "Hojat M et al. (2009). The devil is in the third year. Acad Med 84:1182–1191.",
        "Colliver JA et al. (2010). Reports of the decline of empathy during medical "
        "education are greatly exaggerated. Acad Med 85:588–593.",
        "Jacobson NS, Truax P (1991). Clinical significance. J Consult Clin Psychol 59:12–19.",
        "Hu L, Bentler PM (1999). Cutoff criteria for fit indexes. Struct Equ Modeling 6:1–55.",
        "NCES (2010). Statistical methods for protecting personally identifiable information "
        "in aggregate reporting (NCES 2011-603).",
    ]
    ctx.provenance = prov
    return prov


#: Built last ("*"): its analysis time covers every other section.
SECTION = SectionSpec("methods", 190, lambda ctx: "Methods and provenance", _methods,
                      needs=("*",), appendix=True)
