"""Long reads and defragmentation off the event loop, with a fallback on it.

A snapshot stream or a hash reads the whole backend; a defragmentation rewrites it.
Where the engine allows it (``kvcore.backend.DetachedReads``, ``OnlineDefragment``),
the work runs on a thread while the loop keeps serving reads and applying writes. An
engine without those capabilities gets the same work on the loop: reads in batches
with a turn of the loop between them, defragmentation in one blocking call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from itertools import islice
from typing import TypeVar

from kvcore.backend import Backend, DetachedReads, OnlineDefragment, ReadTxn
from kvcore.util.worker import Worker

T = TypeVar("T")
# How often a finished defragmentation looks again whether it may swap its result in.
_FINISH_POLL_SECONDS = 0.01
# Catch-up rounds after which a defragmentation finishes even if writes outpace them.
_MAX_ROUNDS = 20


async def batches(
    backend: Backend, produce: Callable[[ReadTxn], Iterator[T]], size: int
) -> AsyncIterator[list[T]]:
    """Yield ``produce``'s items, ``size`` at a time, read from one snapshot of the
    backend on a thread of their own when the engine allows it."""
    if not isinstance(backend, DetachedReads):
        with backend.read() as txn:
            items = produce(txn)
            while batch := list(islice(items, size)):
                yield batch
                await asyncio.sleep(0)
        return
    txn = backend.read_detached()
    worker = Worker("kvcore-backend-read")
    try:
        items = produce(txn)
        while batch := await worker.call(_take, items, size):
            yield batch
    finally:
        worker.call(txn.close)
        worker.close()  # waits for the batch in hand, if the stream was cut short


async def read(backend: Backend, compute: Callable[[ReadTxn], T]) -> T:
    """``compute``'s result over one read snapshot of the backend, taken as
    :func:`batches` takes its items (on a thread of its own when the engine allows)."""

    def produce(txn: ReadTxn) -> Iterator[T]:
        yield compute(txn)

    (value,) = [v async for batch in batches(backend, produce, 1) for v in batch]
    return value


def _take(items: Iterator[T], size: int) -> list[T]:
    return list(islice(items, size))


async def defragment(backend: Backend, pause: float) -> None:
    """Defragment ``backend``; writes go on meanwhile where the engine allows it.

    After the long part, catch-up rounds repeat on the worker until one takes at most
    ``pause`` seconds (the last step then has about as much to do, with writes held
    back) or :data:`_MAX_ROUNDS` have run, and until no reader keeps it from finishing.
    """
    if not isinstance(backend, OnlineDefragment):
        backend.defragment()
        return
    loop = asyncio.get_running_loop()
    defrag = backend.start_defragment()
    worker = Worker("kvcore-defragment")
    try:
        await worker.call(defrag.run)
        rounds = 0
        while True:
            started = loop.time()
            await worker.call(defrag.run)
            rounds += 1
            short = loop.time() - started <= pause or rounds >= _MAX_ROUNDS
            if short and defrag.can_finish():
                break
            if not defrag.can_finish():
                await asyncio.sleep(_FINISH_POLL_SECONDS)
    finally:
        worker.close()
    defrag.finish()
