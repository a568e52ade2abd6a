"""The yearly HTML report (presentation only: every number comes from the library).

>>> from empathy_metrics import read_responses
>>> from empathy_metrics.report import build_report
>>> data = read_responses("survey.csv")  # doctest: +SKIP
>>> report = build_report(data, "jse-s", time="year", id="student_id")  # doctest: +SKIP
>>> report.write("report.html")  # doctest: +SKIP

writes ``report.html`` (self-contained: inline CSS and figures, no script, no network),
``report_tables/`` (one CSV per table) and ``report_tables.xlsx`` (one sheet per table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Report", "build_report", "DEFAULT_OPTIONS"]

if TYPE_CHECKING:
    from .builder import DEFAULT_OPTIONS, Report, build_report


def __getattr__(name: str) -> Any:
    """The public names load the builder on first use, so that the command line can fork the
    figure workers (:mod:`._pool`) before the analyses are imported."""
    if name in __all__:
        from . import builder

        return getattr(builder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
