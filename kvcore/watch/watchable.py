"""The watchable store: feeds every watcher the events of the store it watches.

Watchers are partitioned by progress, as in etcd's watchable store:

* **synced** watchers have been sent everything up to the current revision. Each
  committed write's events go straight to them (:meth:`WatchableStore.committed`).
* **unsynced** watchers start in the past, or were moved here because the store was
  replaced by a snapshot, or came back from the victims with history still owed. A
  background task (:meth:`WatchableStore.run`) reads history from the key bucket in
  windows of at most ``MAX_REVISIONS_PER_SYNC`` revisions for up to
  ``MAX_WATCHERS_PER_SYNC`` watchers at a time until they reach the current revision.
* **victims** found their stream's buffer full. They hold the events they were owed and
  are retried; once delivered they rejoin the unsynced (or synced) watchers. Neither the
  applier nor any other watcher ever waits for a slow stream.

A watcher's ``min_rev`` is the next revision it has not been sent, so each event goes
out exactly once and in revision order, whichever group the watcher is in. Events are
only ever sent after the backend transaction holding them has committed.

All of it runs on the node's event loop, between applies: the applier's TxnWrites end
and its backend transaction commits without yielding, so a sync step never sees a
revision that is not durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import weakref
from collections.abc import Iterable
from typing import Final

from kvcore.api.mvccpb.kv_pb2 import Event, KeyValue
from kvcore.mvcc.store import KVStore
from kvcore.watch import events
from kvcore.watch.group import WatcherGroup
from kvcore.watch.watcher import (
    ALL_WATCHERS,
    SharedResponse,
    Sink,
    Watcher,
    batch,
    by_sink,
    offer,
)

# etcd's maxWatchersPerSync: how many unsynced watchers one history read serves.
MAX_WATCHERS_PER_SYNC: Final = 512
# How many revisions of history one sync step reads at most (etcd's watchBatchMaxRevs).
MAX_REVISIONS_PER_SYNC: Final = 1000
# How long the background task waits before retrying watchers it could not move.
RETRY_SECONDS: Final = 0.05


class WatchableStore:
    def __init__(self) -> None:
        self._store: KVStore | None = None
        self._synced = WatcherGroup()
        self._unsynced = WatcherGroup()
        # Per stream, its victims and the events each is owed
        self._victims: dict[Sink, dict[Watcher, list[Event]]] = {}
        self._written: list[tuple[int, list[KeyValue]]] = []
        self._wake = asyncio.Event()
        self._sinks: weakref.WeakSet[Sink] = weakref.WeakSet()
        # The last window of history read, as events: victims coming back one group
        # after another tend to need the same window again.
        self._window: tuple[KVStore, int, int, list[Event]] | None = None

    def register(self, sink: Sink) -> None:
        """Know ``sink`` (until it is garbage), so that :meth:`shutdown` can end it."""
        self._sinks.add(sink)

    def shutdown(self, error: Exception) -> None:
        """End every stream with ``error``: the node is stopping, and a stream never
        ends by itself (the listener would wait out its whole grace period for it)."""
        for sink in list(self._sinks):
            sink.fail(error)

    # --- the store's side ---------------------------------------------------------------

    def use(self, store: KVStore) -> None:
        """Watch ``store`` from now on: at start, and when a snapshot replaced the state
        (every synced watcher then catches up from the new store's history)."""
        self._store = store
        self._written.clear()
        for watcher in list(self._synced):
            self._synced.remove(watcher)
            self._unsynced.add(watcher)
        self._wake.set()

    @property
    def store(self) -> KVStore:
        if self._store is None:
            raise RuntimeError("WatchableStore used before use(store)")
        return self._store

    @property
    def revision(self) -> int:
        return self.store.current_revision

    @property
    def lagging(self) -> int:
        """How many watchers are catching up or waiting as victims."""
        return len(self._unsynced) + sum(map(len, self._victims.values()))

    def record(self, revision: int, changes: list[KeyValue]) -> None:
        """The store's ChangeObserver: a write ended at ``revision``, not committed yet."""
        self._written.append((revision, changes))

    def committed(self) -> None:
        """The writes recorded so far are durable: send their events to synced watchers."""
        written, self._written = self._written, []
        if not self._synced:
            return
        for revision, changes in written:
            self._notify(revision, events.from_changes(changes))

    def _notify(self, revision: int, evs: list[Event]) -> None:
        owed = batch(self._synced.buckets_for, evs)
        for watcher in owed:
            watcher.min_rev = revision + 1
        # One batch per stream: its watchers are all sent this revision, or all become
        # victims, and the stream's reader encodes the batch in one go.
        for sink, batched in by_sink(owed).items():
            if not offer(sink, batched, revision):
                for watcher, pending in batched:
                    self._synced.remove(watcher)
                    self._make_victim(watcher, pending)

    # --- the streams' side --------------------------------------------------------------

    def watch(
        self,
        watch_id: int,
        key: bytes,
        end: bytes | None,
        start_rev: int,
        sink: Sink,
        dropped: frozenset[int] = frozenset(),
    ) -> Watcher:
        """A new watcher of ``key`` (see :class:`Watcher`) from ``start_rev``; 0 or a
        future revision: from the next write (at or after ``start_rev``)."""
        current = self.revision
        watcher = Watcher(key, end, start_rev, watch_id, sink, dropped)
        if start_rev == 0 or start_rev > current:
            watcher.min_rev = max(start_rev, current + 1)
            self._synced.add(watcher)
        else:
            self._unsynced.add(watcher)
            self._wake.set()
        return watcher

    def cancel(self, watcher: Watcher) -> None:
        """Stop feeding ``watcher``, whichever group it is in."""
        if not self._synced.remove(watcher) and not self._unsynced.remove(watcher):
            victims = self._victims.get(watcher.sink)
            if victims is not None:
                victims.pop(watcher, None)
                if not victims:
                    del self._victims[watcher.sink]

    def progress(self, watcher: Watcher) -> None:
        """Tell a synced ``watcher`` the current revision (an event-less response);
        others are catching up and will speak for themselves."""
        if watcher in self._synced:
            watcher.sink.offer([SharedResponse([watcher.id], [], self.revision)])

    def progress_all(self, watchers: Iterable[Watcher], sink: Sink) -> bool:
        """One progress response to ``sink`` for all of ``watchers``, if all are synced;
        False (nothing sent) if one is still catching up. A stream without watchers
        gets its answer too, as from etcd 3.4 and 3.5.0 (3.5.8 sends none)."""
        if any(w not in self._synced for w in watchers):
            return False
        sink.offer([SharedResponse([ALL_WATCHERS], [], self.revision)])
        return True

    def kick(self) -> None:
        """A stream's buffer has room again: retry the victims soon."""
        if self._victims:
            self._wake.set()

    # --- catching up ------------------------------------------------------------------

    async def run(self) -> None:
        """Catch unsynced watchers up and retry victims, for as long as the node runs."""
        while True:
            self._wake.clear()
            moved = self.move_victims() if self._victims else 0
            if self._unsynced and self.sync_step():
                moved += 1
            if moved:
                await asyncio.sleep(0)  # let applies and streams run between steps
            elif self._victims or self._unsynced:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RETRY_SECONDS):
                        await self._wake.wait()
            else:
                await self._wake.wait()

    def sync_step(self) -> bool:
        """Send up to MAX_WATCHERS_PER_SYNC unsynced watchers their next window of
        history; True if any of them moved on."""
        store = self.store
        current, compacted = store.current_revision, store.compact_revision
        chosen = WatcherGroup()
        moved = False
        for watcher in list(itertools.islice(self._unsynced, MAX_WATCHERS_PER_SYNC)):
            if watcher.min_rev < compacted:
                # Its history is gone: it is told so and dropped (a full buffer: next time).
                if watcher.sink.offer([SharedResponse([watcher.id], [], 0, compacted)]):
                    self._unsynced.remove(watcher)
                    moved = True
            else:
                chosen.add(watcher)
        if not len(chosen):
            return moved
        # A negative start revision at or above the compaction reads all history.
        first = max(1, min(w.min_rev for w in chosen))
        last = min(current, first + MAX_REVISIONS_PER_SYNC - 1)
        owed = batch(chosen.buckets_for, self._history(first, last))
        sending: dict[Watcher, list[Event]] = {}
        for watcher in chosen:
            if watcher.min_rev <= last:
                watcher.min_rev = last + 1
                moved = True
                found = owed.get(watcher)
                if found:
                    sending[watcher] = found
                    continue  # synced or not once its stream took the events
            if watcher.min_rev > current:
                self._unsynced.remove(watcher)
                self._synced.add(watcher)
                moved = True
        for sink, batched in by_sink(sending).items():
            sent = offer(sink, batched, current)
            for watcher, pending in batched:
                if not sent:
                    self._unsynced.remove(watcher)
                    self._make_victim(watcher, pending)
                elif watcher.min_rev > current:
                    self._unsynced.remove(watcher)
                    self._synced.add(watcher)
        if not self._unsynced and not self._victims:
            self._window = None  # nobody lags: let the history read go
        return moved

    def _history(self, first: int, last: int) -> list[Event]:
        if first > last:
            return []
        window = self._window
        if window is not None and window[:3] == (self.store, first, last):
            return window[3]
        evs = events.from_history(self.store.history(first, last))
        self._window = (self.store, first, last, evs)
        return evs

    def _make_victim(self, watcher: Watcher, owed: list[Event]) -> None:
        self._victims.setdefault(watcher.sink, {})[watcher] = owed
        self._wake.set()

    def move_victims(self) -> int:
        """Retry the victims' owed events, one batch per stream; those delivered rejoin
        the unsynced watchers (or the synced ones, if nothing more is owed). Returns how
        many moved."""
        current = self.revision
        moved = 0
        for sink, victims in list(self._victims.items()):
            if not offer(sink, victims.items(), None):
                continue
            del self._victims[sink]
            for watcher in victims:
                if watcher.min_rev <= current:
                    self._unsynced.add(watcher)
                else:
                    self._synced.add(watcher)
            moved += len(victims)
        return moved
