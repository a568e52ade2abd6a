"""The report's figures drawn and written as SVG in worker processes while the analyses go on.

Laying out a matplotlib figure and writing it as SVG (text as paths) takes more CPU than the
analyses of a yearly report left after the trend. :class:`FigurePool` starts :data:`WORKERS`
workers at the start of the build (:class:`~empathy_metrics.report._workers.Workers`: the
first imports matplotlib and the result modules while the core analyses run, the others are
forked from it), hands each figure to them and goes on with the next section;
:meth:`FigurePool.finish` collects the SVGs at the end. A figure whose drawing function can
be pickled (a plots function with its arguments, see :mod:`empathy_metrics.report._figures`)
is drawn in a worker too, so this process never imports matplotlib; one that cannot (a
closure) is drawn here and only written there. The workers run exactly what the serial path
runs (:func:`~empathy_metrics.report._figures.render_figure`), so the bytes are the same
(``tests/test_report_pool.py`` compares them). Warnings and errors of a worker come back and
become notes of the figure's section as in the serial path (:class:`~empathy_metrics.report.
_context.Runner`'s rules); an error that cannot be sent back, or a worker that died, makes the
figure be drawn again here.

The workers need the ``fork`` start method (Linux; not Windows, not macOS' default) and two or
more CPUs; otherwise, or with ``parallel=False``, every figure is drawn at once in this
process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import time as _time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ._figures import FigureLabels, render_figure
from ._tables import Figure, Section
from ._workers import Workers

__all__ = ["FigurePool", "workers_started_early"]


def _to_figure(payload: bytes, name: str, caption: str, alt: str
               ) -> tuple[Figure, list[tuple[type[Warning], str]]]:
    """In the worker: the pickled matplotlib figure as a report :class:`Figure`, and the
    warnings raised while writing it."""
    fig = pickle.loads(payload)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = Figure.from_matplotlib(fig, name, caption, alt)
    return figure, [(w.category, str(w.message)) for w in caught]


#: Figures still queued at the end (beyond the next one for each worker) are drawn here too
#: when at least this many are. Drawing here first costs importing matplotlib (about 0.6 s of
#: CPU) while the warm workers draw a yearly report's figure in 0.1-0.4 s each: taking back two
#: or three made the report slower.
TAKE_BACK_MIN = 4
#: Worker processes. The figures of a yearly report take more CPU than the analyses left
#: after the trend, so two workers share them (with the comparability child and this process
#: the two CPUs stay busy until the end) instead of this process importing matplotlib to
#: take figures back.
WORKERS = 2


class _Redraw:
    """Sent back instead of an error that does not survive pickling: draw again here."""


def _render_in_worker(payload: bytes, name: str, caption: str, alt: str
                      ) -> tuple[Figure | None, BaseException | _Redraw | None,
                                 list[tuple[type[Warning], str]], float]:
    """In the worker: draw the pickled ``(draw, labels)`` and write it; the figure or the
    error, the warnings raised, and the seconds it took."""
    start = _time.perf_counter()
    draw, labels = pickle.loads(payload)
    figure, error = None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            figure = render_figure(draw, labels, name, caption, alt)
        except Exception as exc:  # noqa: BLE001 - the main process decides, as serially
            error = exc
    if error is not None:
        try:
            pickle.loads(pickle.dumps(error))
        except Exception:  # noqa: BLE001 - an exception that cannot travel
            error = _Redraw()
    return figure, error, [(w.category, str(w.message)) for w in caught], \
        _time.perf_counter() - start


def _warm_up() -> None:
    """In the first worker, before the others are forked from it: import what drawing needs
    (the figure type with its canvas, axes, the SVG writer, the plots) and the modules of the
    results the report's figures are drawn from (unpickling a trend or EFA result imports
    them), so that no worker imports them again."""
    import matplotlib.backends.backend_svg  # noqa: F401 - the writer of every figure

    from .. import _figure, cohorts, efa, plots  # noqa: F401 - Figure and axes, results, plots


def _usable() -> bool:
    return ("fork" in multiprocessing.get_all_start_methods()
            and (os.cpu_count() or 1) >= 2)


class FigurePool:
    """Figures drawn and written as SVG in forked workers (see the module docstring)."""

    def __init__(self, parallel: bool = True) -> None:
        self.parallel = parallel and _usable()
        self._workers: Workers | None = None
        if self.parallel and _EARLY:  # take over the workers forked early
            early = _EARLY[0]
            self._workers, early._workers = early._workers, None
        #: (section, what, placeholder, future, redo: writes the figure here if need be)
        self._pending: list[tuple[Section, str, Figure, Future, Callable[[], Figure]]] = []
        #: what -> seconds the worker took to draw and write it (figures drawn there)
        self.timings: dict[str, float] = {}

    def start(self) -> None:
        """Fork the workers now and have them import matplotlib while this process computes
        (the first figure is asked for a second or more later)."""
        if self.parallel and self._workers is None:
            self._fork()

    def _fork(self) -> Workers | None:
        try:
            self._workers = Workers(WORKERS, _warm_up)
        except OSError:  # no process can be started (limits): every figure is drawn here
            self.parallel = False
        return self._workers

    def _queue(self, section: Section, what: str, func: Callable[..., Any], payload: bytes,
               name: str, caption: str, alt: str, redo: Callable[[], Figure]) -> bool:
        """Queue the task and add the figure's placeholder; ``False`` when no worker could
        be started (the caller draws the figure at once)."""
        workers = self._workers if self._workers is not None else self._fork()
        if workers is None:
            return False
        future = workers.submit(func, payload, name, caption, alt)
        placeholder = Figure(name=name, caption=caption, alt=alt, uri="")
        section.add(placeholder)
        self._pending.append((section, what, placeholder, future, redo))
        return True

    def submit_draw(self, section: Section, what: str, draw: Callable[[], Any],
                    labels: FigureLabels, name: str, caption: str, alt: str) -> bool:
        """Queue the drawing *and* writing of a figure for the worker and add its placeholder
        to ``section``; ``False`` (nothing done) when ``draw`` cannot be pickled or no worker
        can be started."""
        try:
            payload = pickle.dumps((draw, labels))
        except Exception:  # noqa: BLE001 - a closure: drawn here, see submit()
            return False
        return self._queue(section, what, _render_in_worker, payload, name, caption, alt,
                           lambda: render_figure(draw, labels, name, caption, alt))

    def submit(self, section: Section, what: str, fig: Any, name: str, caption: str,
               alt: str) -> bool:
        """Queue a drawn ``fig`` for writing in the worker and add its placeholder to
        ``section``; ``False`` (nothing done) when the figure cannot be sent or no worker can
        be started (then write it at once)."""
        try:
            payload = pickle.dumps(fig)
        except Exception:  # noqa: BLE001 - an unpicklable artist: the serial path draws it
            return False
        return self._queue(section, what, _to_figure, payload, name, caption, alt,
                           lambda: Figure.from_matplotlib(fig, name, caption, alt))

    def finish(self, guard: Callable[[Section, str, Callable[[], Any]], Any]) -> None:
        """Wait for the workers and fill each placeholder; ``guard`` (the runner's) turns an
        error into a note of the section, and the placeholder is then dropped.

        Once the workers have warmed up, figures they have not started are taken back, from
        the last one, and drawn here meanwhile (see :meth:`_take_back`); should a worker die,
        the figures it did not write are written here too. Notes are added in the order of the
        figures, whichever process drew them.
        """
        try:
            for warming in (self._workers.warming if self._workers else []):
                with contextlib.suppress(Exception):  # still importing: about to be free
                    warming.result()
            taken = self._take_back()
            outcomes: dict[int, tuple[Any, list[str]]] = {}
            for i in sorted(taken) + [i for i in range(len(self._pending)) if i not in taken]:
                section, what, _, future, redo = self._pending[i]
                notes = Section(section.id, section.title)
                start = _time.perf_counter()
                if i in taken:
                    figure = guard(notes, what, redo)
                    self.timings[what] = _time.perf_counter() - start
                else:
                    figure = guard(notes, what,
                                   lambda f=future, r=redo, w=what: self._result(f, r, w))
                outcomes[i] = figure, notes.notes
            for i, (section, _, placeholder, _, _) in enumerate(self._pending):
                figure, notes = outcomes[i]
                section.notes.extend(notes)
                if figure is None:
                    section.blocks.remove(placeholder)
                else:
                    placeholder.uri = figure.uri
        finally:
            self._pending = []
            self.close()

    def _take_back(self) -> set[int]:
        """Cancel the last queued figures no worker has started, leaving the next
        :data:`WORKERS` of them to the workers (about to be free), when that takes back at
        least :data:`TAKE_BACK_MIN` (drawing here first costs importing matplotlib)."""
        waiting = 0
        for _, _, _, future, _ in reversed(self._pending):
            if future.running() or future.done():
                break
            waiting += 1
        taken: set[int] = set()
        if waiting - WORKERS >= TAKE_BACK_MIN:
            last = len(self._pending) - 1
            for i in range(last, last - (waiting - WORKERS), -1):
                if not self._pending[i][3].cancel():
                    break  # started meanwhile: the workers have the rest
                taken.add(i)
        return taken

    def _result(self, future: Future, redo: Callable[[], Figure], what: str) -> Figure:
        """The worker's figure, its warnings warned and its error raised here (so that the
        runner makes the same notes as serially); written here if the worker cannot."""
        try:
            result = future.result()
        except BrokenProcessPool:
            return redo()
        if len(result) == 2:  # written there, drawn here: errors arrive as exceptions
            figure, caught = result
            error, seconds = None, None
        else:
            figure, error, caught, seconds = result
            self.timings[what] = seconds
        if isinstance(error, _Redraw):
            return redo()
        for category, message in caught:
            warnings.warn(message, category, stacklevel=2)
        if error is not None:
            raise error
        return figure

    def close(self) -> None:
        """Stop the workers (waiting for them)."""
        if self._workers is not None:
            self._workers.shutdown(cancel_futures=True)
            self._workers = None

    def __enter__(self) -> FigurePool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


#: The pool of :func:`workers_started_early` while its block runs (taken over by the next
#: parallel :class:`FigurePool`).
_EARLY: list[FigurePool] = []


@contextlib.contextmanager
def workers_started_early() -> Iterator[None]:
    """Fork the figure workers now, before the analyses are imported (the command line's
    ``report`` and ``demo``): they import matplotlib while this process imports the library
    and reads the data, on a CPU that would otherwise wait. The next parallel
    :class:`FigurePool` of this process (the report's) takes them over; workers nobody took
    are stopped at the end of the block.
    """
    pool = FigurePool(parallel=True)
    pool.start()
    _EARLY.append(pool)
    try:
        yield
    finally:
        _EARLY.remove(pool)
        pool.close()
