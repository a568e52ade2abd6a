"""A laid-out matplotlib figure as SVG with the least work: one draw, each text laid out once.

Imported only where figures are drawn (the figure worker, or this process when it draws):
importing it imports matplotlib.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.text import Text

__all__ = ["svg_bytes"]

#: Text layouts kept between figures of one process (cleared when it grows past this).
MAX_LAYOUTS = 4096
_LAYOUTS: dict[tuple, Any] = {}
_ORIGINAL_LAYOUT = getattr(Text, "_get_layout", None)
#: The private attributes the cache key reads besides the public getters; without them (another
#: matplotlib) texts are laid out as always.
_KEYED = ("_multialignment", "_linespacing")
_CACHEABLE = _ORIGINAL_LAYOUT is not None and all(hasattr(Text(), a) for a in _KEYED)


def svg_bytes(fig: Any) -> bytes:
    """The SVG of a figure with a layout engine, from ONE draw of the figure.

    ``fig.savefig`` draws such a figure twice: :meth:`FigureCanvasBase.print_figure` first
    draws it with drawing disabled so that the layout engine runs, then draws it again with
    the engine switched off; the first draw costs as much as the second (text layout of every
    tick label). The SVG canvas's ``print_svg`` draws once, and :meth:`Figure.draw` runs the
    layout engine itself at the start of that draw, at the same 72 dpi as ``savefig``'s
    first draw, so the bytes are ``savefig``'s (checked on the demo report's ten figures).
    Unlike ``savefig`` it ignores the ``savefig.*`` rcParams (dpi, face/edge colour), which a
    report figure does not use. The figure's own canvas and dpi are put back afterwards.
    Text layouts are reused meanwhile, see :func:`reused_text_layouts`.
    """
    canvas, dpi = fig.canvas, fig.dpi
    buf = io.BytesIO()
    try:
        with reused_text_layouts():
            FigureCanvasSVG(fig).print_svg(buf, metadata={"Date": None})
    finally:
        fig.set_canvas(canvas)
        fig.dpi = dpi
    return buf.getvalue()


@contextmanager
def reused_text_layouts() -> Iterator[None]:
    """Lay out each distinct text once while drawing (within and across figures).

    One draw of a laid-out figure asks for the layout of the same tick label about six times
    (twice per constrained-layout pass: the axis's box and its label's position; then the
    draw) and the next figure asks again for the same ticks; only about one request in six
    is a text not seen before (demo report: 1,651 requests, 265 distinct). matplotlib's
    ``Text._get_layout`` (line boxes from font metrics, alignment, rotation; independent of
    where the text sits) is therefore answered from a dictionary keyed by everything it
    reads: the string, the font properties (their hash, as matplotlib's own metrics cache
    keys them), the figure's dpi, the renderer kind and scale, rotation and rotation mode,
    alignments and line spacing. Texts whose layout depends on more (wrapped to the figure,
    TeX, math, rotation following the transform) are laid out as always. The original
    method is put back on leaving; the SVG bytes are the uncached draw's (checked in
    tests/test_report_figures.py against ``savefig``).
    """
    if not _CACHEABLE or Text._get_layout is not _ORIGINAL_LAYOUT:
        yield  # another matplotlib, or already inside: nothing to add
        return
    Text._get_layout = _cached_layout
    try:
        yield
    finally:
        Text._get_layout = _ORIGINAL_LAYOUT


def _cached_layout(text: Text, renderer: Any) -> Any:
    content = text.get_text()
    if (text.get_wrap() or text.get_usetex() or "$" in content
            or text.get_transform_rotates_text()):
        return _ORIGINAL_LAYOUT(text, renderer)
    key = (content, hash(text.get_fontproperties()), text.figure.dpi,
           type(renderer), renderer.points_to_pixels(72.0), text.get_rotation(),
           text.get_rotation_mode(), text.get_horizontalalignment(),
           text.get_verticalalignment(), text._multialignment, text._linespacing)
    layout = _LAYOUTS.get(key)
    if layout is None:
        if len(_LAYOUTS) >= MAX_LAYOUTS:
            _LAYOUTS.clear()
        layout = _LAYOUTS[key] = _ORIGINAL_LAYOUT(text, renderer)
    bbox, lines, box = layout
    return bbox.frozen(), list(lines), box
