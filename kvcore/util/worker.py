"""One thread that runs blocking calls in order for the event loop.

Lighter than ``loop.run_in_executor``: no concurrent.futures.Future to chain, one
queue hand-off in and one ``call_soon_threadsafe`` out. The driver's WAL writes go
through it, one call per Ready, so its cost is paid once per batch of writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = object()


class Worker:
    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        """Run ``fn(*args)`` on the worker thread; the future holds its outcome."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._calls.put((loop, future, fn, args))
        return future

    def submit(
        self,
        fn: Callable[..., Any],
        args: tuple,
        done: Callable[[Any, BaseException | None], None],
    ) -> None:
        """Run ``fn(*args)`` on the worker thread, then ``done(result, error)`` on the
        running loop: one loop callback, no future and no task to wake."""
        self._calls.put((asyncio.get_running_loop(), done, fn, args))

    def close(self) -> None:
        """Finish the calls already queued, then stop the thread."""
        self._calls.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while (item := self._calls.get()) is not _STOP:
            loop, target, fn, args = item
            try:
                result, error = fn(*args), None
            except BaseException as exc:  # handed to the awaiting coroutine
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop closed while fn ran
                if isinstance(target, asyncio.Future):
                    loop.call_soon_threadsafe(_settle, target, result, error)
                else:
                    loop.call_soon_threadsafe(target, result, error)


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
