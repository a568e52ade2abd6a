"""Change in empathy across training years: cross-sectional, longitudinal, cohorts and groups.

:func:`trend` takes scored (or raw) long-format data — one row per respondent and time — and
returns a :class:`TrendResult` holding, for every scale: descriptives by time, change from a
reference time (Welch mean difference, Cohen's d and Hedges' g with noncentral-t CIs), Welch's
ANOVA, Kruskal–Wallis, a linear trend, Holm-adjusted adjacent-time comparisons, a
random-intercept mixed model when respondent ids repeat, paired adjacent change and the
Jacobson–Truax reliable change index, entering-cohort trajectories, group differences within
each time, the scores against the instrument's published norms and item-level mean change.
:func:`item_change` and :func:`reliability_by_time` give the item-level change and Cronbach's
alpha per time on their own (the numbers the item heatmap and the alpha plot draw).

Layout: one module per analysis, :func:`trend` (:mod:`.main`) only composes them —

- :mod:`._base` — input preparation and the shared suppression patterns (:class:`TrendInput`);
- :mod:`.describe` — scores by time, change from the reference, scores against norms;
- :mod:`.compare` — tests across times (Welch ANOVA, Kruskal–Wallis, trend, adjacent);
- :mod:`.longitudinal` — mixed models, paired change, reliable change (same students);
- :mod:`.groups` — entering cohorts and groups by time and their differences;
- :mod:`.distribution` — protected histograms and the distribution table;
- :mod:`.items` — item-level change and alpha by time;
- :mod:`.group_comparison` — groups compared on their own (:func:`compare_groups`) and
  alpha per group (:func:`reliability_by`);
- :mod:`.results` — the result classes.

Small cells: every table goes through :func:`empathy_metrics.suppression.suppress` (small cells
and their complements are blanked). One suppression pattern is computed per table and applied to
every scale alike (from the smallest count of any scale in each cell), so that no hidden cell of
one scale can be recovered from the shown cells of another (e.g. a hidden total from shown
subscale means).

References: Hojat M et al. (2009) "The devil is in the third year", Acad Med 84:1182–1191;
Colliver JA et al. (2010) Acad Med 85:588–593 (report change in scale points as well as SD
units); Jacobson NS, Truax P (1991) J Consult Clin Psychol 59:12–19 (reliable change).
"""

from __future__ import annotations

from ._base import RCI_CRITICAL
from .distribution import default_bin_width, score_histogram, score_resolution
from .group_comparison import GroupComparisonResult, compare_groups, reliability_by
from .items import item_change, reliability_by_time
from .longitudinal import cronbach_alpha
from .main import shown_times, trend
from .results import HistogramResult, ItemChangeResult, ReliabilityByTimeResult, TrendResult

__all__ = [
    "trend",
    "TrendResult",
    "shown_times",
    "compare_groups",
    "GroupComparisonResult",
    "reliability_by",
    "item_change",
    "ItemChangeResult",
    "reliability_by_time",
    "ReliabilityByTimeResult",
    "cronbach_alpha",
    "score_histogram",
    "HistogramResult",
    "score_resolution",
    "default_bin_width",
    "RCI_CRITICAL",
]
