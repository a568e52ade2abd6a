"""Worker processes that share one warm-up: the first is forked from this process, imports
what the work needs, then forks the others, which start warm.

:class:`~concurrent.futures.ProcessPoolExecutor` forks every worker from the calling process,
so each one imports matplotlib (and the modules of the results it unpickles) on its own:
0.5-1 s of CPU per worker for a report's figures. Here the first worker pays it once and the
others are forked from it (copy-on-write), which leaves the CPU to the analyses: on the
2-core reference machine ``empathy demo`` needed 1.5-2 s less CPU and ran 0.6-1 s faster.

Each worker has its own :func:`multiprocessing.Pipe` to this process. A dispatcher thread
here hands the next queued task to whichever worker is free and sets the task's
:class:`~concurrent.futures.Future` when the result arrives, so the usual future protocol
holds: a task no worker has started can be cancelled, ``result()`` waits. A worker that
dies makes its task fail with :class:`~concurrent.futures.process.BrokenProcessPool` (as the
executor does) and the others go on; when none is left, every queued task fails so.

Linux only (``os.fork`` in the first worker); :mod:`empathy_metrics.report._pool` decides
whether workers are used at all.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection, wait
from typing import Any

__all__ = ["Workers"]


def _serve(conn: Connection) -> None:
    """In a worker: say it is ready, then run tasks until told to stop (``None``) or until
    this process is gone (end of file, or a pipe that breaks)."""
    try:
        conn.send(("ready", os.getpid()))
    except OSError:
        return
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        except Exception as exc:  # noqa: BLE001 - a task that cannot be unpickled here
            outcome: tuple[str, Any] = ("raised", BrokenProcessPool(
                f"the task could not be received ({type(exc).__name__}: {exc})"))
        else:
            if task is None:
                return
            func, args = task
            try:
                outcome = ("done", func(*args))
            except BaseException as exc:  # noqa: BLE001 - the caller's future raises it
                outcome = ("raised", exc)
        try:
            conn.send(outcome)
        except OSError:  # this process's end is gone: nobody to answer
            return
        except Exception as exc:  # noqa: BLE001 - a result or error that cannot be pickled
            try:
                conn.send(("raised", BrokenProcessPool(
                    f"the result could not be sent back ({type(exc).__name__}: {exc})")))
            except OSError:
                return


def _first_worker(conns: list[Connection], ours: list[Connection],
                  warm_up: Callable[[], None]) -> None:
    """The first worker: warm up, fork the other workers (each keeps only its own pipe end),
    serve, and wait for them at the end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    for conn in ours:  # the main process's ends, inherited: closed, so that its exit is seen
        conn.close()
    with contextlib.suppress(Exception):  # a failed import fails the tasks, not the worker
        warm_up()
    children = []
    for i in range(1, len(conns)):
        try:
            pid = os.fork()
        except OSError:  # no more processes (limits): the others serve without this one
            conns[i].close()  # the main process sees it as a worker that never started
            continue
        if pid == 0:  # pragma: no cover - runs in the forked worker
            code = 0
            try:
                for j, conn in enumerate(conns):
                    if j != i:
                        conn.close()
                _serve(conns[i])
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
        conns[i].close()
    try:
        _serve(conns[0])
    except BaseException:  # noqa: BLE001 - no traceback on the user's terminal: the main
        pass  # process sees the end of file and draws what this worker did not
    finally:
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


class Workers:
    """``count`` worker processes sharing the warm-up ``warm_up`` (see the module docstring).

    Parameters
    ----------
    count : int
        Number of workers (1 or more).
    warm_up : callable
        Run once, in the first worker, before the others are forked from it (inherited by
        the fork, not pickled); an error it raises is ignored (the tasks then meet it).
    """

    def __init__(self, count: int, warm_up: Callable[[], None]) -> None:
        ctx = multiprocessing.get_context("fork")
        pairs = [ctx.Pipe(duplex=True) for _ in range(count)]
        ours = [a for a, _ in pairs]
        theirs = [b for _, b in pairs]
        # a daemon: should this process end without shutdown(), multiprocessing stops it
        # (the others see the end of their pipe and exit)
        self._process = ctx.Process(target=_first_worker, args=(theirs, ours, warm_up),
                                    name="empathy-figure-worker", daemon=True)
        try:
            self._process.start()
        except BaseException:  # no process could be started: nothing left open
            for conn in (*ours, *theirs):
                conn.close()
            raise
        for conn in theirs:
            conn.close()
        #: one future per worker, done (with its process id) when a worker is ready for tasks,
        #: or failed with BrokenProcessPool when one died before
        self.warming: list[Future] = [Future() for _ in range(count)]
        self._unready = collections.deque(self.warming)
        self._conns: list[Connection] = ours
        self._queue: collections.deque[tuple[Future, Callable[..., Any], tuple]] = \
            collections.deque()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = ctx.Pipe(duplex=False)
        self._closing = False
        self._broken = False  # every worker is gone
        self._started: set[Connection] = set()  # the workers that said they were ready
        self._thread = threading.Thread(target=self._dispatch, name="figure-dispatcher",
                                        daemon=True)
        self._thread.start()

    # -- this process's side -------------------------------------------------------------
    def submit(self, func: Callable[..., Any], *args: Any) -> Future:
        """Queue ``func(*args)`` for the next free worker; its future."""
        future: Future = Future()
        with self._lock:
            if self._closing:
                raise RuntimeError("the workers have been shut down")
            if self._broken:
                future.set_exception(BrokenProcessPool("no figure worker is left"))
                return future
            self._queue.append((future, func, args))
        self._wake()
        return future

    def shutdown(self, cancel_futures: bool = True) -> None:
        """Stop the workers once they have finished their current task (queued tasks are
        cancelled, or run first with ``cancel_futures=False``) and wait for them."""
        with self._lock:
            self._closing = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft()[0].cancel()
        self._wake()
        self._thread.join()
        self._process.join()
        self._wake_r.close()
        self._wake_w.close()

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers that said they were ready."""
        return [f.result() for f in self.warming if f.done() and not f.exception()]

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send_bytes(b"")

    # -- the dispatcher thread -----------------------------------------------------------
    def _dispatch(self) -> None:
        idle: list[Connection] = []
        busy: dict[Connection, Future] = {}
        live = list(self._conns)
        while live:
            self._hand_out(idle, busy, live)
            for conn in wait([*live, self._wake_r]):
                if conn is self._wake_r:
                    with contextlib.suppress(EOFError, OSError):
                        conn.recv_bytes()
                    continue
                self._receive(conn, idle, busy, live)
        with self._lock:  # no worker left: what is queued, or comes, can never run there
            self._broken = True
            while self._queue:
                future = self._queue.popleft()[0]
                if future.set_running_or_notify_cancel():
                    future.set_exception(BrokenProcessPool("no figure worker is left"))
        for conn in self._conns:
            conn.close()

    def _hand_out(self, idle: list[Connection], busy: dict[Connection, Future],
                  live: list[Connection]) -> None:
        """Give queued tasks to idle workers, or tell idle workers to stop when closing."""
        while idle:
            with self._lock:
                if not self._queue:
                    if not self._closing:
                        return
                    conn = idle.pop()
                    with contextlib.suppress(OSError):
                        conn.send(None)  # it exits: end of file, below
                    continue
                future, func, args = self._queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue  # cancelled meanwhile
            conn = idle.pop()
            try:
                conn.send((func, args))
            except Exception as exc:  # noqa: BLE001 - cannot be pickled, or the worker is gone
                future.set_exception(exc if not isinstance(exc, OSError)
                                     else BrokenProcessPool(str(exc)))
                if isinstance(exc, OSError):
                    live.remove(conn)
                else:
                    idle.append(conn)
                continue
            busy[conn] = future

    def _receive(self, conn: Connection, idle: list[Connection],
                 busy: dict[Connection, Future], live: list[Connection]) -> None:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the worker exited or died
            live.remove(conn)
            future = busy.pop(conn, None)
            if future is not None:
                future.set_exception(BrokenProcessPool("a figure worker died"))
            if conn not in self._started:  # died before it said it was ready
                self._unready.popleft().set_exception(
                    BrokenProcessPool("a figure worker died before it was ready"))
            with contextlib.suppress(ValueError):
                idle.remove(conn)
            return
        except Exception as exc:  # noqa: BLE001 - a result that cannot be unpickled here
            message = ("raised", BrokenProcessPool(
                f"the result could not be received ({type(exc).__name__}: {exc})"))
        kind, value = message
        if kind == "ready":
            self._started.add(conn)
            self._unready.popleft().set_result(value)
        else:
            future = busy.pop(conn)
            if kind == "done":
                future.set_result(value)
            else:
                future.set_exception(value)
        idle.append(conn)
