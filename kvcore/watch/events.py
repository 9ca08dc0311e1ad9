"""Events from the store's changes: what a write just did, or what history holds."""

from __future__ import annotations

from collections.abc import Iterable

from kvcore.api.mvccpb.kv_pb2 import Event, KeyValue
from kvcore.mvcc.revision import Revision, is_tombstone


def from_changes(changes: Iterable[KeyValue]) -> list[Event]:
    """A TxnWrite's changes as events: a put carries the whole version; a delete (a
    KeyValue with only key and mod_revision) only those two, as etcd sends it."""
    return [
        Event(type=Event.PUT if change.create_revision else Event.DELETE, kv=change)
        for change in changes
    ]


def from_history(stored: Iterable[tuple[bytes, KeyValue]]) -> list[Event]:
    """Versions read from the key bucket (see ``KVStore.history``) as events."""
    events = []
    for rev_bytes, kv in stored:
        if is_tombstone(rev_bytes):
            kv = KeyValue(key=kv.key, mod_revision=Revision.from_bytes(rev_bytes).main)
            events.append(Event(type=Event.DELETE, kv=kv))
        else:
            events.append(Event(type=Event.PUT, kv=kv))
    return events
