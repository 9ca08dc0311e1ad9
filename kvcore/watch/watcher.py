"""One watcher, the responses it is sent, and the events it is owed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Protocol

from kvcore.api.mvccpb.kv_pb2 import Event

# The watch id of a response meant for every watcher of a stream (etcd's InvalidWatchID).
ALL_WATCHERS: Final = -1


@dataclass(slots=True)
class WatchResponse:
    """What a watcher is sent: events, or a progress note (no events), or the news that
    its start revision was compacted (``compact_revision`` set; the watcher is gone)."""

    watch_id: int
    events: list[Event]
    revision: int
    """The store's revision the response speaks for (the response header's)."""
    compact_revision: int = 0


@dataclass(slots=True)
class SharedResponse:
    """One response for several watchers of a stream, identical but for the watch id:
    the form in which the watchable store queues responses (one object, not one per
    watcher, and one encoding on the wire side)."""

    watch_ids: list[int]
    events: list[Event]
    revision: int
    compact_revision: int = 0

    def unshared(self) -> list[WatchResponse]:
        return [
            WatchResponse(watch_id, self.events, self.revision, self.compact_revision)
            for watch_id in self.watch_ids
        ]


def mergeable(batch: list[SharedResponse]) -> bool:
    """Whether ``batch`` holds only events (no progress note, no compaction notice),
    so that its events may join a watcher's earlier response."""
    return all(shared.events and not shared.compact_revision for shared in batch)


def merge(batches: list[list[SharedResponse]]) -> list[SharedResponse]:
    """Consecutive mergeable batches as one: each watcher's events in one response at
    its last revision, as a watcher catching up from history is sent them. Watchers
    with the same responses share the merged one; each goes where it first appeared."""
    paths: dict[int, list[SharedResponse]] = {}  # watch id -> its responses, in order
    for batch in batches:
        for shared in batch:
            for watch_id in shared.watch_ids:
                path = paths.get(watch_id)
                if path is None:
                    paths[watch_id] = [shared]
                else:
                    path.append(shared)
    merged: dict[tuple[int, ...], SharedResponse] = {}
    for watch_id, path in paths.items():
        key = tuple(map(id, path))  # the responses are alive in ``batches``
        found = merged.get(key)
        if found is None:
            events = [ev for shared in path for ev in shared.events]
            merged[key] = SharedResponse([watch_id], events, path[-1].revision)
        else:
            found.watch_ids.append(watch_id)
    return list(merged.values())


class Sink(Protocol):
    """Where a watcher's responses go: a stream with a bounded buffer."""

    def accepting(self) -> bool:
        """Whether ``offer`` would take a batch now."""

    def offer(self, responses: list[SharedResponse]) -> bool:
        """Queue ``responses`` (for watchers of this sink, made at one time) as one
        batch; False, and nothing queued, when the buffer is full."""

    def fail(self, error: Exception) -> None:
        """End the stream: its reader gets ``error`` instead of anything still queued."""


@dataclass(eq=False, slots=True)
class Watcher:
    """Watches ``key`` (``end`` None), ``[key, end)``, or every key from ``key`` on
    (``end`` empty), from revision ``min_rev``: the next revision it has not been sent."""

    key: bytes
    end: bytes | None
    min_rev: int
    id: int
    sink: Sink
    dropped: frozenset[int] = frozenset()
    """Event types this watcher does not want (etcd's NOPUT and NODELETE filters)."""

    def wanted(self, events: list[Event]) -> list[Event]:
        """``events`` minus the filtered ones (the same list when nothing is filtered)."""
        if not self.dropped:
            return events
        return [ev for ev in events if ev.type not in self.dropped]


# The events owed to watchers of one sink: sent together, or refused together.
Owed = list[tuple[Watcher, list[Event]]]


def offer(sink: Sink, owed: Iterable[tuple[Watcher, list[Event]]], revision: int | None) -> bool:
    """Offer ``owed`` to ``sink`` as one batch of responses at ``revision`` (None: each
    watcher's last revision sent); True if queued or nothing was left after filters.
    Watchers owed the same events (the same list) at the same revision share one
    response."""
    if not sink.accepting():
        return False
    shared: dict[tuple[int, int], SharedResponse] = {}
    for watcher, events in owed:
        wanted = watcher.wanted(events)
        if wanted:
            at = watcher.min_rev - 1 if revision is None else revision
            found = shared.get((id(wanted), at))
            if found is None:
                shared[(id(wanted), at)] = SharedResponse([watcher.id], wanted, at)
            else:
                found.watch_ids.append(watcher.id)
    return not shared or sink.offer(list(shared.values()))


def by_sink(owed: dict[Watcher, list[Event]]) -> dict[Sink, Owed]:
    """``owed`` grouped by the sink of each watcher, in the watchers' order."""
    grouped: dict[Sink, Owed] = {}
    for watcher, events in owed.items():
        found = grouped.get(watcher.sink)
        if found is None:
            grouped[watcher.sink] = [(watcher, events)]
        else:
            found.append((watcher, events))
    return grouped


def batch(
    buckets_for: Callable[[bytes], Iterable[Iterable[Watcher]]], events: list[Event]
) -> dict[Watcher, list[Event]]:
    """The events each watcher is owed: those on its keys at or above its min_rev.
    ``buckets_for(key)`` gives the watchers of ``key`` in groups (see WatcherGroup)."""
    owed: dict[Watcher, list[Event]] = {}
    if len(events) == 1:
        # One event (a plain put or delete): every watcher shares one list.
        shared = events
        rev = events[0].kv.mod_revision
        for bucket in buckets_for(events[0].kv.key):
            for watcher in bucket:
                if rev >= watcher.min_rev:
                    owed[watcher] = shared
        return owed
    for event in events:
        rev = event.kv.mod_revision
        for bucket in buckets_for(event.kv.key):
            for watcher in bucket:
                if rev >= watcher.min_rev:
                    found = owed.get(watcher)
                    if found is None:
                        owed[watcher] = [event]
                    else:
                        found.append(event)
    return owed
