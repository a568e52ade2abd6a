"""Drawing a report figure: plot, display labels, SVG, in this process or the figure worker.

A figure of the report is a *draw* callable (a plots function with its arguments, e.g.
``functools.partial(plots.trend_plot, tr, ["total"])``) and the display labels of
:class:`FigureLabels`. :func:`render_figure` draws it, puts the labels in and writes the SVG.
Both are plain data (picklable), so :class:`~empathy_metrics.report._pool.FigurePool` can run
all of it in its worker process: this process then never imports matplotlib nor spends time
laying out a figure. The serial path runs the same :func:`render_figure`, so the bytes are the
same either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._tables import Figure

__all__ = ["FigureLabels", "render_figure"]


@dataclass(frozen=True)
class FigureLabels:
    """Display labels a figure drawn with codes gets (time ticks, panel titles, legends).

    Built once per report by :attr:`Context.figure_labels`; ``ticks`` maps a time code (as
    text) to its label, ``when`` to its phrase in a sentence ("year 3", "PGY-3"), ``cohorts`` a
    cohort code to its label, ``words`` a column to its word in a sentence and ``headers`` to
    its heading.
    """

    time: str
    ticks: dict[str, str] = field(default_factory=dict)
    when: dict[str, str] = field(default_factory=dict)
    cohorts: dict[str, str] = field(default_factory=dict)
    words: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> bool:
        """Nothing to change: no column words, every code shown as itself."""
        return (not self.words and all(k == v for k, v in self.ticks.items())
                and all(k == v for k, v in self.cohorts.items()))

    def apply(self, fig: Any) -> None:
        """Show the labels in ``fig``: x tick labels that are time codes, "year 3" phrases,
        cohort codes before " (n=", and column names in axis/legend titles and phrases
        ("by year", "per year")."""
        if self.identity:
            return
        from matplotlib.text import Text

        for ax in fig.axes:
            ticks = ax.get_xticklabels()
            texts = [t.get_text() for t in ticks]
            new = []
            for text in texts:
                head, sep, tail = text.partition("\n")
                new.append(self.ticks.get(head, head) + sep + tail)
            if new != texts and len(ax.get_xticks()) == len(new):
                ax.set_xticks(ax.get_xticks(), new)
        pattern = re.compile(rf"\b{re.escape(self.time)} ([^\s,:)]+)")
        for text in fig.findobj(Text):
            old = text.get_text()
            if old:
                value = self._relabel(pattern, old)
                if value != old:
                    text.set_text(value)

    def _relabel(self, pattern: re.Pattern, old: str) -> str:
        value = pattern.sub(lambda m: self.when.get(m.group(1), m.group(0)), old)
        head, sep, tail = value.partition(" (n=")
        if head in self.cohorts and sep:
            value = self.cohorts[head] + sep + tail
        for col, word in self.words.items():
            if value == col:  # an axis or legend title naming the column
                value = self.headers[col]
            else:  # "mean by year", "one panel per year"
                value = re.sub(rf"\b(by|per|each|across|from) {re.escape(col)}\b",
                               lambda m, w=word: f"{m.group(1)} {w}", value)
        return value


def render_figure(draw: Callable[[], Any], labels: FigureLabels, name: str, caption: str,
                  alt: str) -> Figure:
    """``draw()``, with ``labels`` applied, as a report :class:`Figure` (SVG ``data:`` URI)."""
    fig = draw()
    labels.apply(fig)
    return Figure.from_matplotlib(fig, name, caption, alt)
