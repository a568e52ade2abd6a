"""A report section built in a forked child while this process builds the others.

The comparability section (measurement invariance across times, the longest analysis of a
yearly report) needs no other section's result, nor the trend. :class:`Offload` forks a child
before the trend runs (see :data:`OFFLOADED`) that builds it on its copy of the context, and
hands back the filled :class:`~empathy_metrics.report._tables.Section`, the section's result,
its error (raised here, at the section's turn, so that a report stops as it would serially),
its timings and progress steps; figures an offloaded section might draw are drawn in the
child, by the serial path (the comparability section has none: the factor analyses' figures
are another section's, drawn by the figure worker). The builder collects this section after
every section that does not need it (:func:`~empathy_metrics.report.sections.build_order`'s
``late``). The bytes are the same as serially: the child runs the same code on the same data.

Tables hold display functions (lambdas), so the hand-back pickles functions by value
(:class:`_Pickler`: code, module and closure; the child is a fork of this process, so the
code is the same). Anything that still cannot be sent back, an error that cannot travel, or
a child that dies makes the section be built here, at its turn, exactly as without a child.
Needs the ``fork`` start method and two CPUs (as the figure worker); otherwise nothing is
forked.
"""

from __future__ import annotations

import importlib
import io
import marshal
import pickle
import types
from typing import Any

from ._tables import Section

__all__ = ["OFFLOADED", "Offload"]

#: Sections built in a child process when possible. The child starts before the trend is
#: done, from a context whose ``tr`` is ``None`` and whose ``times``/``time_shown`` come from
#: :func:`~empathy_metrics.cohorts.shown_times`: such a section must not read ``ctx.tr``,
#: ``ctx.shown`` or another section's result.
OFFLOADED = ("comparability",)


def _make_function(code: bytes, module: str, name: str, defaults: tuple | None,
                   kwdefaults: dict | None, cells: tuple | None) -> types.FunctionType:
    func = types.FunctionType(marshal.loads(code), importlib.import_module(module).__dict__,
                              name, defaults,
                              None if cells is None else tuple(types.CellType(c) for c in cells))
    func.__kwdefaults__ = kwdefaults
    return func


class _Pickler(pickle.Pickler):
    """Pickles lambdas and local functions by value (code, module, closure contents)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.FunctionType) and "<" in obj.__qualname__:
            cells = (None if obj.__closure__ is None
                     else tuple(c.cell_contents for c in obj.__closure__))
            return _make_function, (marshal.dumps(obj.__code__), obj.__module__, obj.__name__,
                                    obj.__defaults__, obj.__kwdefaults__, cells)
        return NotImplemented


def _dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


class _Silent:
    """The child's progress bar: the parent advances its own by the child's steps."""

    def update(self, n: int, what: str | None = None, seconds: float | None = None) -> None:
        return None


class Offload:
    """Sections of :data:`OFFLOADED` built in forked children (see the module docstring)."""

    def __init__(self, parallel: bool) -> None:
        from ._pool import _usable

        self.parallel = parallel and _usable()
        self._children: dict[str, tuple[Any, Any]] = {}

    def start(self, ctx: Any, spec: Any, section: Section) -> None:
        """Fork a child building ``spec`` into (its copy of) ``section``."""
        if not self.parallel or spec.id not in OFFLOADED or spec.needs:
            return
        import multiprocessing

        mp = multiprocessing.get_context("fork")
        receive, send = mp.Pipe(duplex=False)

        def child() -> None:
            run = ctx.run
            ctx.figures = None  # its figures are drawn here, by the serial path
            run.bar, done, before = _Silent(), run.done, set(run.timings)
            try:
                result, error = spec.build(ctx, section), None
            except BaseException as exc:  # noqa: BLE001 - raised by the parent at its turn
                result, error = None, exc
            timings = {k: v for k, v in run.timings.items() if k not in before}
            try:
                if error is not None:
                    pickle.loads(_dumps(error))
                payload = _dumps((section, result, error, timings, run.done - done))
            except Exception:  # noqa: BLE001 - cannot be sent: the parent builds it
                payload = b""
            send.send_bytes(payload)

        process = mp.Process(target=child, daemon=True)
        process.start()
        send.close()
        self._children[spec.id] = process, receive

    def collect(self, ctx: Any, spec: Any, section: Section) -> Any:
        """The section's result: the child's (its section copied into ``section``, its error
        raised) or, when there is no child or it could not hand back, built here."""
        child = self._children.pop(spec.id, None)
        payload = b""
        if child is not None:
            process, receive = child
            try:
                payload = receive.recv_bytes()
            except EOFError:  # the child died
                payload = b""
            finally:
                receive.close()
                process.join()
        if not payload:
            return spec.build(ctx, section)
        built, result, error, timings, steps = pickle.loads(payload)
        vars(section).update(vars(built))
        ctx.run.timings.update(timings)
        ctx.run.step(steps)
        if error is not None:
            raise error
        return result

    def close(self) -> None:
        """Stop children whose section was not collected (a report stopped by an error);
        such a section is then built here by :meth:`collect`."""
        for process, receive in self._children.values():
            receive.close()
            process.terminate()
            process.join()
        self._children = {}

    def __enter__(self) -> Offload:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
