"""One client stream: its watchers by id and the responses queued for it (etcd's
watchStream and its channel).

Responses wait in one queue in the order they were made, so a watcher's "created"
answer always goes out before its events. The watchable store offers the responses of
one revision to all of a stream's watchers as one batch, and the batches count against
a fixed capacity (etcd's chanBufLen, which etcd counts in responses: here a stream with
one watcher behaves as etcd's, and one with many does not turn most of them into
victims at every write). A bound on the responses queued keeps the memory of a stream
with many watchers in check. When a client reads too slowly the queue fills, the
watchable store stops offering, and the watchers fall back to catching up from history.
Control answers (created, canceled) are never refused; instead the stream's reader
waits for room (:meth:`WatchStream.control_room`) before it takes the next request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final

from kvcore.watch.watchable import WatchableStore
from kvcore.watch.watcher import SharedResponse, Watcher, WatchResponse, merge, mergeable

# etcd's chanBufLen: batches of watcher responses a stream holds before its watchers
# become victims.
CAPACITY: Final = 128
# Responses a stream holds at most before it refuses another batch (a batch is taken
# whole while fewer are queued, so one batch may take it past this).
MAX_QUEUED_RESPONSES: Final = 32768
# Responses queued from which the reader takes all consecutive batches of events at once
# and sends each watcher one response for them (see ``take``).
MERGE_FROM: Final = CAPACITY
# Control answers a stream holds before it stops reading requests (etcd's ctrlStreamBufLen).
CONTROL_CAPACITY: Final = 16
# A watch id of 0 in a create request asks the stream to choose one (etcd's AutoWatchID).
AUTO_WATCH_ID: Final = 0


class WatchError(Exception):
    """A watcher that cannot be created; the message is etcd's cancel_reason."""


EMPTY_RANGE = "mvcc: watcher range is empty"
DUPLICATE_ID = "mvcc: duplicate watch ID provided on the WatchStream"


class WatchStream:
    def __init__(self, watchable: WatchableStore, capacity: int = CAPACITY) -> None:
        self._watchable = watchable
        self._capacity = capacity
        self._watchers: dict[int, Watcher] = {}
        self._next_id = AUTO_WATCH_ID
        # Control answers, and batches of watcher responses (lists)
        self._queue: deque[object] = deque()
        self._offered = 0  # batches in the queue
        self._responses = 0  # responses in those batches
        self._refused = False  # an offer was refused since the queue last had room
        self._unrolled: deque[WatchResponse] = deque()  # the rest of the batch get() took
        self._controls = 0  # control answers in the queue
        self._ready = asyncio.Event()
        self._control_taken = asyncio.Event()
        self._closed = False
        self._failure: Exception | None = None
        watchable.register(self)

    @property
    def revision(self) -> int:
        return self._watchable.revision

    def watch(
        self,
        watch_id: int,
        key: bytes,
        end: bytes | None,
        start_rev: int,
        dropped: frozenset[int] = frozenset(),
    ) -> int:
        """Add a watcher (see :meth:`WatchableStore.watch`); returns its id, the given
        one or, for AUTO_WATCH_ID, the lowest free one not handed out before."""
        if end and key >= end:
            raise WatchError(EMPTY_RANGE)
        if watch_id == AUTO_WATCH_ID:
            while self._next_id in self._watchers:
                self._next_id += 1
            watch_id = self._next_id
            self._next_id += 1
        elif watch_id in self._watchers:
            raise WatchError(DUPLICATE_ID)
        watcher = self._watchable.watch(watch_id, key, end, start_rev, self, dropped)
        self._watchers[watch_id] = watcher
        return watch_id

    def cancel(self, watch_id: int) -> bool:
        """Remove a watcher; False if this stream has none by that id."""
        watcher = self._watchers.pop(watch_id, None)
        if watcher is None:
            return False
        self._watchable.cancel(watcher)
        return True

    def progress(self, watch_id: int) -> None:
        """Have the watcher ``watch_id`` told the current revision, if it is synced."""
        watcher = self._watchers.get(watch_id)
        if watcher is not None:
            self._watchable.progress(watcher)

    def progress_all(self) -> bool:
        """One progress response for the whole stream; False while a watcher catches up."""
        return self._watchable.progress_all(self._watchers.values(), self)

    def accepting(self) -> bool:
        if self._closed:
            return True  # nobody reads any more: accept and forget
        if self._offered >= self._capacity or self._responses >= MAX_QUEUED_RESPONSES:
            self._refused = True
            return False
        return True

    def offer(self, responses: list[SharedResponse]) -> bool:
        if not self.accepting():
            return False
        if not self._closed:
            self._offered += 1
            self._responses += _count(responses)
            self._push(responses)
        return True

    def put(self, item: object) -> None:
        """Queue a control answer (or anything else for the reader), never refused."""
        self._controls += 1
        self._push(item)

    async def control_room(self) -> None:
        """Wait until fewer than CONTROL_CAPACITY control answers are queued: a client
        that sends requests but reads no answers is read no further."""
        while self._controls >= CONTROL_CAPACITY:
            self._control_taken.clear()
            await self._control_taken.wait()

    def _push(self, item: object) -> None:
        self._queue.append(item)
        self._ready.set()

    def fail(self, error: Exception) -> None:
        self._failure = error
        self._ready.set()

    async def take(self) -> object:
        """The next queued item, in order: a control answer, or a batch of watcher
        responses (a list of SharedResponse); waits for one. Raises the stream's
        failure once it has one (see :meth:`fail`)."""
        while not self._queue or self._failure is not None:
            if self._failure is not None:
                raise self._failure
            self._ready.clear()
            await self._ready.wait()
        item = self._queue.popleft()
        if not isinstance(item, list):
            self._controls -= 1
            self._control_taken.set()
            return item
        taken = [item]
        if self._responses >= MERGE_FROM and mergeable(item):
            # Far behind: rather than one response per watcher per revision, each
            # watcher gets all its queued events in one, as etcd sends a watcher that
            # fell behind (a victim catching up from history).
            while self._queue and isinstance(self._queue[0], list) and mergeable(
                self._queue[0]
            ):
                taken.append(self._queue.popleft())
        self._offered -= len(taken)
        self._responses -= sum(map(_count, taken))
        if len(taken) > 1:
            item = merge(taken)
        if (
            self._refused
            and self._offered <= self._capacity // 2
            and self._responses <= MAX_QUEUED_RESPONSES // 2
        ):
            # Half empty: room for many victims at once, so that they share one read
            # of history when they catch up.
            self._refused = False
            self._watchable.kick()
        return item

    async def get(self) -> object:
        """The next queued control answer or watcher response, one at a time."""
        if not self._unrolled:
            item = await self.take()
            if not isinstance(item, list):
                return item
            for shared in item:
                self._unrolled.extend(shared.unshared())
        return self._unrolled.popleft()

    def close(self) -> None:
        """Cancel every watcher; the stream is done."""
        self._closed = True
        for watcher in self._watchers.values():
            self._watchable.cancel(watcher)
        self._watchers.clear()
        self._queue.clear()
        self._unrolled.clear()


def _count(batch: list[SharedResponse]) -> int:
    """How many watcher responses ``batch`` stands for."""
    return sum(len(shared.watch_ids) for shared in batch)
