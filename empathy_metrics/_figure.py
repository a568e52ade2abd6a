"""The figure type every plot returns: shows itself in Jupyter, saves with ``savefig``.

Plots are drawn on a :class:`Figure` made directly (never through ``pyplot``), so no global
figure state is left behind and a figure is never shown twice. The figure shows itself as
the last expression of a notebook cell through ``_repr_png_``, in a fresh kernel without
``%matplotlib inline``; with the inline backend active, IPython's own figure formatter draws
it instead (still once).
"""

from __future__ import annotations

import io
import textwrap

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as _MplFigure

__all__ = ["Figure", "wrap_text"]

#: Resolution of the picture a notebook shows (``savefig`` takes its own ``dpi``).
DISPLAY_DPI = 100


class Figure(_MplFigure):
    """A matplotlib :class:`~matplotlib.figure.Figure` that renders itself in notebooks.

    Everything else is matplotlib's: ``fig.savefig("trend.png", dpi=300)``, ``fig.axes``, ...
    """

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - matplotlib's
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)  # a canvas that can draw without any pyplot backend

    def draw(self, renderer) -> None:  # noqa: ANN001 - matplotlib's signature
        """Wrap titles that are wider than their panel (or the figure), then draw."""
        fig_width = self.get_figwidth()
        suptitle = getattr(self, "_suptitle", None)  # matplotlib keeps it private
        if suptitle is not None:
            _wrap_artist(suptitle, fig_width)
        for ax in self.axes:
            spec = ax.get_subplotspec()
            width = (spec.get_position(self).width if spec is not None
                     else ax.get_position().width) * fig_width
            for name in ("title", "_left_title", "_right_title"):
                _wrap_artist(getattr(ax, name), width)
        super().draw(renderer)

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DISPLAY_DPI)
        return buffer.getvalue()


def _wrap_artist(text, width_inches: float) -> None:  # noqa: ANN001 - a matplotlib Text
    content = text.get_text()
    if content:
        wrapped = "\n".join(wrap_text(line, width_inches, text.get_fontsize())
                            for line in content.split("\n"))
        if wrapped != content:
            text.set_text(wrapped)


def wrap_text(text: str, width_inches: float, fontsize: float) -> str:
    """``text`` broken into lines that fit ``width_inches`` at ``fontsize`` points.

    Uses a conservative average glyph width (0.6 em, DejaVu Sans averages about 0.55), so a
    wrapped title stays inside its figure or panel instead of being cut at both sides.
    """
    chars = max(12, int(width_inches * 72 / (0.6 * fontsize)))
    return "\n".join(textwrap.wrap(text, chars, break_long_words=False)) or text
