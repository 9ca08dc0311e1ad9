"""Futures for requests waiting on the apply loop: by request id, and by applied index."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Any


class Wait:
    """Request id -> future, resolved by the applier with the request's result."""

    def __init__(self) -> None:
        self._pending: dict[int, asyncio.Future] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def register(self, request_id: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        return future

    def cancel(self, request_id: int) -> None:
        self._pending.pop(request_id, None)

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
        for future in pending.values():
            if not future.done():
                future.set_exception(error)


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
