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

from .builder import DEFAULT_OPTIONS, Report, build_report

__all__ = ["Report", "build_report", "DEFAULT_OPTIONS"]
