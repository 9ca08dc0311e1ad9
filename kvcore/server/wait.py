"""Futures for requests waiting on the apply loop: by request id, and by applied index."""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
from typing import Any


class Wait:
    """Request id -> future, resolved by the applier with the request's result, or
    failed with ``TimeoutError`` once ``timeout`` seconds pass.

    The deadlines share one timer (armed for the earliest), rather than a timeout
    context per request: most requests are answered within milliseconds, and their
    deadlines are dropped lazily when the timer fires. Every request gets the same
    timeout, so deadlines arrive in order: a queue, not a heap, keeps them.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._pending: dict[int, asyncio.Future] = {}
        self._deadlines: collections.deque[tuple[float, int]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def register(self, request_id: int) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending[request_id] = future
        deadline = loop.time() + self._timeout
        self._deadlines.append((deadline, request_id))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)
        return future

    def trigger(self, request_id: int, result: Any) -> None:
        """Resolve ``request_id`` with ``result`` (an exception fails it)."""
        future = self._pending.pop(request_id, None)
        if future is None or future.done():
            return
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)

    def fail_all(self, error: BaseException) -> None:
        pending, self._pending = self._pending, {}
        self._deadlines.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    def _expire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadlines = self._deadlines
        # Past deadlines fail their requests; the deadlines of answered ones go too.
        while deadlines and (deadlines[0][0] <= now or deadlines[0][1] not in self._pending):
            deadline, request_id = deadlines.popleft()
            future = self._pending.pop(request_id, None) if deadline <= now else None
            if future is not None and not future.done():
                future.set_exception(TimeoutError())
        if deadlines:
            self._timer = loop.call_at(deadlines[0][0], self._expire)


class IndexWait:
    """Futures that resolve once the applied index reaches a given index."""

    def __init__(self) -> None:
        self.applied = 0
        self._heap: list[tuple[int, int, asyncio.Future]] = []
        self._seq = itertools.count()  # breaks ties between equal indexes

    def wait(self, index: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if index <= self.applied:
            future.set_result(None)
        else:
            heapq.heappush(self._heap, (index, next(self._seq), future))
        return future

    def advance(self, applied: int) -> None:
        self.applied = applied
        while self._heap and self._heap[0][0] <= applied:
            _, _, future = heapq.heappop(self._heap)
            if not future.done():
                future.set_result(None)

    def fail_all(self, error: BaseException) -> None:
        heap, self._heap = self._heap, []
        for _, _, future in heap:
            if not future.done():
                future.set_exception(error)
