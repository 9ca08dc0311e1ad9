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


class Sink(Protocol):
    """Where a watcher's responses go: a stream with a bounded buffer."""

    def offer(self, response: WatchResponse) -> bool:
        """Queue ``response``; False, and nothing queued, when the buffer is full."""


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

    def send(self, response: WatchResponse) -> bool:
        """Offer ``response`` minus filtered events; True if delivered or nothing is left
        to deliver, False if the buffer is full."""
        progress = not response.events
        if self.dropped and not progress:
            response.events = [ev for ev in response.events if ev.type not in self.dropped]
            if not response.events:
                return True
        return self.sink.offer(response)


def batch(
    watchers_for: Callable[[bytes], Iterable[Watcher]], events: Iterable[Event]
) -> dict[Watcher, list[Event]]:
    """The events each watcher is owed: those on its keys at or above its min_rev."""
    owed: dict[Watcher, list[Event]] = {}
    for event in events:
        rev = event.kv.mod_revision
        for watcher in watchers_for(event.kv.key):
            if rev >= watcher.min_rev:
                found = owed.get(watcher)
                if found is None:
                    owed[watcher] = [event]
                else:
                    found.append(event)
    return owed
