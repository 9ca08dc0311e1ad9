"""The watchable store in-process: synced, unsynced and victim watchers, catch-up from
history, compaction, restore; every watcher sees each event once, in order, no gap."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kvcore_memory import MemoryEngine, MemoryOptions

from kvcore import schema
from kvcore.api.mvccpb.kv_pb2 import Event
from kvcore.backend import Backend
from kvcore.mvcc import KVStore
from kvcore.watch import WatchableStore, WatchResponse, watchable
from kvcore.watch import stream as stream_module
from kvcore.watch.group import WatcherGroup
from kvcore.watch.stream import (
    CONTROL_CAPACITY,
    DUPLICATE_ID,
    EMPTY_RANGE,
    WatchError,
    WatchStream,
)
from kvcore.watch.watcher import ALL_WATCHERS, SharedResponse, Watcher


class Sink:
    """A stream buffer of ``capacity`` batches that the test drains by hand."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self.batches = 0
        self.queued: list[WatchResponse] = []

    def accepting(self) -> bool:
        return self.batches < self.capacity

    def offer(self, responses: list[SharedResponse]) -> bool:
        if not self.accepting():
            return False
        self.batches += 1
        self.queued += [r for shared in responses for r in shared.unshared()]
        return True

    def drain(self) -> list[WatchResponse]:
        got, self.queued, self.batches = self.queued, [], 0
        return got


def revisions(responses: list[WatchResponse]) -> list[int]:
    return [ev.kv.mod_revision for r in responses for ev in r.events]


@pytest.fixture
def backend() -> Backend:
    return MemoryEngine().open(Path("."), schema.ALL_BUCKETS, MemoryOptions())


@pytest.fixture
def ws(backend: Backend) -> WatchableStore:
    ws = WatchableStore()
    ws.use(KVStore(backend, observer=ws.record))
    return ws


def store_of(ws: WatchableStore) -> KVStore:
    return ws.store


def put(ws: WatchableStore, backend: Backend, key: bytes, value: bytes = b"v") -> None:
    with backend.write() as btx:
        w = store_of(ws).write(btx)
        w.put(key, value)
        w.end()
        btx.commit()
    ws.committed()


def delete(ws: WatchableStore, backend: Backend, key: bytes, end: bytes | None = None) -> None:
    with backend.write() as btx:
        w = store_of(ws).write(btx)
        w.delete_range(key, end)
        w.end()
        btx.commit()
    ws.committed()


def sync_all(ws: WatchableStore) -> None:
    for _ in range(100):
        ws.move_victims()
        if not ws.sync_step() and not ws.lagging:
            return
    raise AssertionError("watchers never caught up")


def test_group_finds_watchers_by_key_range_and_from_key() -> None:
    group = WatcherGroup()
    sink = Sink()
    single = Watcher(b"b", None, 1, 0, sink)
    ranged = Watcher(b"a", b"c", 1, 1, sink)
    from_key = Watcher(b"b", b"", 1, 2, sink)
    for w in (single, ranged, from_key):
        group.add(w)
    assert set(group.watchers_for(b"b")) == {single, ranged, from_key}
    assert set(group.watchers_for(b"a")) == {ranged}
    assert set(group.watchers_for(b"zzz")) == {from_key}
    assert not group.watches(b"0")
    assert group.remove(ranged) and not group.remove(ranged)
    assert set(group.watchers_for(b"b")) == {single, from_key}
    assert len(group) == 2


def test_synced_watcher_hears_writes_only_once_committed(
    ws: WatchableStore, backend: Backend
) -> None:
    sink = Sink()
    ws.watch(0, b"k", None, 0, sink)
    with backend.write() as btx:
        w = store_of(ws).write(btx)
        w.put(b"k", b"1")
        w.end()
        assert sink.queued == []  # not durable yet
        btx.commit()
    ws.committed()
    [response] = sink.drain()
    assert (response.revision, response.events[0].kv.value) == (2, b"1")
    delete(ws, backend, b"k")
    [response] = sink.drain()
    assert response.events[0].type == Event.DELETE
    assert response.events[0].kv.mod_revision == 3


def test_unsynced_watcher_catches_up_then_follows(ws: WatchableStore, backend: Backend) -> None:
    for i in range(5):
        put(ws, backend, b"k", str(i).encode())
    put(ws, backend, b"other")
    delete(ws, backend, b"k")
    sink = Sink()
    ws.watch(0, b"k", None, 3, sink)
    assert sink.queued == []
    sync_all(ws)
    put(ws, backend, b"k", b"again")
    got = sink.drain()
    assert revisions(got) == [3, 4, 5, 6, 8, 9]
    assert got[0].revision == 8  # a catch-up response speaks for the current revision


def test_catch_up_reads_history_in_bounded_windows(
    ws: WatchableStore, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watchable, "MAX_REVISIONS_PER_SYNC", 3)
    for i in range(10):
        put(ws, backend, b"k", str(i).encode())
    sink = Sink()
    ws.watch(0, b"k", None, 2, sink)
    ws.sync_step()
    assert revisions(sink.queued) == [2, 3, 4]
    sync_all(ws)
    put(ws, backend, b"k")
    assert revisions(sink.drain()) == list(range(2, 13))


def test_slow_watcher_becomes_a_victim_and_misses_nothing(
    ws: WatchableStore, backend: Backend
) -> None:
    slow, fast = Sink(capacity=1), Sink()
    ws.watch(0, b"k", None, 0, slow)
    ws.watch(0, b"k", None, 0, fast)
    for i in range(4):
        put(ws, backend, b"k", str(i).encode())
    assert revisions(fast.drain()) == [2, 3, 4, 5]  # never held up by the slow one
    assert revisions(slow.queued) == [2]
    assert ws.move_victims() == 0  # still full
    got = slow.drain()
    for _ in range(10):
        ws.move_victims()
        ws.sync_step()
        got += slow.drain()
    put(ws, backend, b"k", b"last")
    got += slow.drain()
    assert revisions(got) == [2, 3, 4, 5, 6]


def test_start_below_compaction_is_told_and_dropped(ws: WatchableStore, backend: Backend) -> None:
    for _ in range(4):
        put(ws, backend, b"k")
    with backend.write() as btx:
        store_of(ws).compact(btx, 4)
        btx.commit()
    below, at = Sink(), Sink()
    ws.watch(7, b"k", None, 3, below)
    ws.watch(8, b"k", None, 4, at)
    sync_all(ws)
    [told] = below.drain()
    assert (told.watch_id, told.compact_revision, told.events) == (7, 4, [])
    assert revisions(at.drain()) == [4, 5]
    put(ws, backend, b"k")
    assert below.queued == []


def test_restore_resyncs_watchers_from_the_new_history(
    ws: WatchableStore, backend: Backend, tmp_path: Path
) -> None:
    sink = Sink()
    ws.watch(0, b"k", None, 0, sink)
    put(ws, backend, b"k", b"1")
    assert revisions(sink.drain()) == [2]
    # The leader's state: two more revisions of k than this member applied.
    other = MemoryEngine().open(tmp_path, schema.ALL_BUCKETS, MemoryOptions())
    leader = KVStore(other)
    for value in (b"1", b"2", b"3"):
        with other.write() as btx:
            w = leader.write(btx)
            w.put(b"k", value)
            w.end()
            btx.commit()
    ws.use(KVStore(other, observer=ws.record))
    sync_all(ws)
    got = sink.drain()
    assert revisions(got) == [3, 4]
    assert [ev.kv.value for r in got for ev in r.events] == [b"2", b"3"]


def test_filters_drop_event_types(ws: WatchableStore, backend: Backend) -> None:
    no_put, no_delete = Sink(), Sink()
    ws.watch(0, b"k", None, 0, no_put, frozenset({Event.PUT}))
    ws.watch(0, b"k", None, 0, no_delete, frozenset({Event.DELETE}))
    put(ws, backend, b"k")
    delete(ws, backend, b"k")
    assert [ev.type for r in no_put.drain() for ev in r.events] == [Event.DELETE]
    assert [ev.type for r in no_delete.drain() for ev in r.events] == [Event.PUT]


def test_progress_all_waits_for_every_watcher_to_sync(ws: WatchableStore, backend: Backend) -> None:
    put(ws, backend, b"k")
    stream = WatchStream(ws)
    stream.watch(0, b"k", None, 0)
    stream.watch(0, b"quiet", None, 1)  # catches up with no event to send
    assert not stream.progress_all()
    sync_all(ws)
    assert stream.progress_all()
    told = asyncio.run(stream.get())
    assert isinstance(told, WatchResponse)
    assert (told.watch_id, told.revision, told.events) == (ALL_WATCHERS, 2, [])


def test_stream_ids_and_refusals(ws: WatchableStore) -> None:
    stream = WatchStream(ws)
    assert stream.watch(3, b"a", None, 0) == 3
    assert [stream.watch(0, b"a", None, 0) for _ in range(4)] == [0, 1, 2, 4]
    with pytest.raises(WatchError, match=DUPLICATE_ID):
        stream.watch(4, b"a", None, 0)
    with pytest.raises(WatchError, match=EMPTY_RANGE):
        stream.watch(0, b"b", b"a", 0)
    assert stream.cancel(3) and not stream.cancel(3)
    assert stream.watch(0, b"a", None, 0) == 5


def test_full_stream_refuses_offers_until_read(ws: WatchableStore) -> None:
    stream = WatchStream(ws, capacity=2)
    stream.put("control")  # control answers never count against the capacity
    assert stream.offer([SharedResponse([0, 1], [], 1)])
    assert stream.offer([SharedResponse([0], [], 2)])
    assert not stream.offer([SharedResponse([0], [], 3)])

    async def read_one_then_offer() -> list[object]:
        got = [await stream.get(), await stream.get()]
        assert stream.offer([SharedResponse([0], [], 3)])
        return [*got, await stream.get(), await stream.get(), await stream.get()]

    got = asyncio.run(read_one_then_offer())
    assert got[0] == "control"
    assert [(r.watch_id, r.revision) for r in got[1:]] == [(0, 1), (1, 1), (0, 2), (0, 3)]


def test_stream_bounds_the_responses_it_holds(
    ws: WatchableStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_module, "MAX_QUEUED_RESPONSES", 3)
    stream = WatchStream(ws)
    assert stream.offer([SharedResponse(list(range(5)), [], 1)])  # taken whole
    assert not stream.offer([SharedResponse([0], [], 2)])
    taken = asyncio.run(stream.take())
    assert isinstance(taken, list) and taken[0].watch_ids == list(range(5))
    assert stream.offer([SharedResponse([0], [], 2)])


def test_many_watchers_of_one_stream_share_a_batch_and_stay_synced(
    ws: WatchableStore, backend: Backend
) -> None:
    stream = WatchStream(ws)
    ids = [stream.watch(0, b"k", None, 0) for _ in range(1000)]
    for i in range(3):
        put(ws, backend, b"k", str(i).encode())
    assert ws.lagging == 0  # 3 batches of 1000, far from the stream's capacity

    batch = asyncio.run(stream.take())  # 3000 responses queued: taken as one
    assert isinstance(batch, list)
    [shared] = batch  # one response object for all of them
    assert (shared.watch_ids, shared.revision) == (ids, 4)
    assert revisions(shared.unshared()) == [2, 3, 4] * 1000


def test_negative_start_revisions_are_refused_or_read_from_the_start(
    ws: WatchableStore, backend: Backend
) -> None:
    """Below etcd's initial compaction mark (-1) a watcher is canceled, as etcd does;
    -1 itself reads all history rather than failing the sync."""
    put(ws, backend, b"k")
    refused, from_start = Sink(), Sink()
    ws.watch(0, b"k", None, -5, refused)
    ws.watch(1, b"k", None, -1, from_start)
    sync_all(ws)
    [told] = refused.drain()
    assert told.compact_revision == -1
    assert revisions(from_start.drain()) == [2]


def test_unread_control_answers_hold_back_the_requests(ws: WatchableStore) -> None:
    stream = WatchStream(ws)

    async def scenario() -> tuple[bool, bool]:
        for i in range(CONTROL_CAPACITY):
            stream.put(i)
        waiting = asyncio.create_task(stream.control_room())
        await asyncio.sleep(0.01)
        held = not waiting.done()
        await stream.get()
        await asyncio.wait_for(waiting, 1)
        return held, waiting.done()

    assert asyncio.run(scenario()) == (True, True)


def test_stream_far_behind_sends_each_watcher_its_queued_events_at_once(
    ws: WatchableStore, backend: Backend
) -> None:
    stream = WatchStream(ws)
    ids = [stream.watch(0, b"k", None, 0) for _ in range(100)]
    put(ws, backend, b"k")
    put(ws, backend, b"k")
    stream.put("control")  # nothing merges across a control answer
    put(ws, backend, b"k")

    async def drain() -> list[object]:
        return [await stream.take() for _ in range(3)]

    merged, control, last = asyncio.run(drain())
    assert control == "control"
    assert isinstance(merged, list) and isinstance(last, list)
    [shared] = merged
    assert (shared.watch_ids, shared.revision, revisions([shared])) == (ids, 3, [2, 3])
    assert [(s.revision, revisions([s])) for s in last] == [(4, [4])]


def test_stream_keeping_up_sends_one_response_per_revision(
    ws: WatchableStore, backend: Backend
) -> None:
    stream = WatchStream(ws)
    stream.watch(0, b"k", None, 0)
    put(ws, backend, b"k")
    put(ws, backend, b"k")

    async def drain() -> list[object]:
        return [await stream.get(), await stream.get()]

    assert [r.revision for r in asyncio.run(drain())] == [2, 3]  # type: ignore[attr-defined]
