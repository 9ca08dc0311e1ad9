"""KVStore and TxnWrite: revisions, reads of own writes, compaction, restore from a backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from kvcore_memory import MemoryEngine, MemoryOptions

from kvcore import errors, schema
from kvcore.backend import Backend
from kvcore.mvcc import KVStore, Revision


@pytest.fixture
def backend() -> Backend:
    return MemoryEngine().open(Path("."), schema.ALL_BUCKETS, MemoryOptions())


def purge(store: KVStore, backend: Backend) -> None:
    """Run a scheduled compaction's backend purge to the end, as the server's task does."""
    while store.compacting:
        with backend.write() as btx:
            store.purge_step(btx, limit=100)
            btx.commit()


def write(store: KVStore, backend: Backend, *ops: tuple) -> None:
    """One TxnWrite (one revision) of ``("put", key, value[, lease])``, ``("del", key, end)``."""
    with backend.write() as btx:
        w = store.write(btx)
        for op in ops:
            if op[0] == "put":
                w.put(*op[1:])
            else:
                w.delete_range(*op[1:])
        w.end()
        btx.commit()


def snapshot(store: KVStore) -> list[tuple]:
    """Everything the store can answer: every key at every revision still readable."""
    seen = []
    for rev in range(max(store.compact_revision, 1), store.current_revision + 1):
        for kv in store.range(b"\x00", b"", rev).kvs:
            seen.append((rev, kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version))
    return seen


def test_empty_store_is_at_revision_one(backend: Backend) -> None:
    store = KVStore(backend)
    assert (store.current_revision, store.compact_revision) == (1, -1)
    result = store.range(b"a")
    assert (result.kvs, result.count, result.rev) == ([], 0, 1)


def test_one_txn_write_is_one_revision_with_sub_revisions(backend: Backend) -> None:
    store = KVStore(backend)
    with backend.write() as btx:
        w = store.write(btx)
        assert w.revision == 1
        assert w.put(b"a", b"1") == 2
        assert w.put(b"b", b"1") == 2
        assert w.range(b"a", b"").count == 2  # sees its own writes
        assert store.range(b"a", b"").count == 0
        assert w.delete_range(b"a") == (1, 2)
        assert w.put(b"a", b"2") == 2
        w.end()
        btx.commit()
    assert store.current_revision == 2
    with backend.read() as txn:
        stored = [Revision.from_bytes(k) for k, _ in txn.range(schema.KEY, b"")]
    assert stored == [Revision(2, 0), Revision(2, 1), Revision(2, 2), Revision(2, 3)]
    kv = store.range(b"a").kvs[0]
    assert (kv.value, kv.create_revision, kv.mod_revision, kv.version) == (b"2", 2, 2, 1)
    assert [c.key for c in w.changes] == [b"a", b"b", b"a", b"a"]
    assert w.changes[2].create_revision == 0  # a delete
    with pytest.raises(RuntimeError):
        w.put(b"late", b"x")


def test_write_without_changes_keeps_the_revision(backend: Backend) -> None:
    store = KVStore(backend)
    write(store, backend, ("del", b"missing", None))
    assert store.current_revision == 1


def test_versions_and_recreation(backend: Backend) -> None:
    store = KVStore(backend)
    write(store, backend, ("put", b"k", b"1"))
    write(store, backend, ("put", b"k", b"2", 7))
    write(store, backend, ("del", b"k", None))
    write(store, backend, ("put", b"k", b"3"))
    assert snapshot(store) == [
        (2, b"k", b"1", 2, 2, 1),
        (3, b"k", b"2", 2, 3, 2),
        (5, b"k", b"3", 5, 5, 1),
    ]
    assert store.range(b"k", rev=3).kvs[0].lease == 7


@pytest.mark.parametrize(
    ("rev", "error"), [(6, errors.FUTURE_REV), (2, errors.COMPACTED), (-1, None)]
)
def test_range_revision_errors(backend: Backend, rev: int, error: errors.EtcdError) -> None:
    store = KVStore(backend)
    for value in (b"1", b"2", b"3", b"4"):
        write(store, backend, ("put", b"k", value))
    with backend.write() as btx:
        store.compact(btx, 3)
        btx.commit()
    if error is None:
        assert store.range(b"k", rev=rev).kvs[0].value == b"4"
    else:
        with pytest.raises(errors.EtcdError) as raised:
            store.range(b"k", rev=rev)
        assert raised.value == error


def test_compaction_removes_history_but_keeps_values_at_the_revision(backend: Backend) -> None:
    store = KVStore(backend)
    for i in range(10):
        write(store, backend, ("put", b"k%d" % (i % 3), b"%d" % i))  # at revision i + 2
    write(store, backend, ("del", b"k1", None))
    before = [row for row in snapshot(store) if row[0] >= 8]
    with backend.write() as btx:
        store.compact(btx, 8)
        with pytest.raises(errors.EtcdError) as raised:
            store.compact(btx, 8)
        assert raised.value == errors.COMPACTED
        with pytest.raises(errors.EtcdError) as raised:
            store.compact(btx, 13)
        assert raised.value == errors.FUTURE_REV
        btx.commit()
    assert snapshot(store) == before  # reads are compacted at once
    with backend.read() as txn:
        assert txn.get(schema.META, schema.META_FINISHED_COMPACT_REV) is None
    steps = 0
    while store.compacting:  # the backend is purged in steps of 3 versions
        with backend.write() as btx:
            store.purge_step(btx, limit=3)
            btx.commit()
        steps += 1
    assert steps == 3  # 7 versions at or below 8
    assert snapshot(store) == before
    with backend.read() as txn:
        kept = [Revision.from_bytes(k).main for k, _ in txn.range(schema.KEY, b"")]
        meta = {k: Revision.from_bytes(v).main for k, v in txn.range(schema.META, b"")}
    assert kept == [6, 7, 8, 9, 10, 11, 12]  # k1@6, k2@7, k0@8 live at 8; then newer history
    assert meta == {
        schema.META_SCHEDULED_COMPACT_REV: 8,
        schema.META_FINISHED_COMPACT_REV: 8,
    }


def test_reopen_restores_index_revision_and_compaction(backend: Backend) -> None:
    store = KVStore(backend)
    write(store, backend, ("put", b"a", b"1"), ("put", b"b", b"1", 5))
    write(store, backend, ("put", b"a", b"2"))
    write(store, backend, ("del", b"b", None))
    write(store, backend, ("put", b"b", b"3"), ("put", b"c", b"3"))
    write(store, backend, ("del", b"a", b"b"))
    with backend.write() as btx:
        store.compact(btx, 4)
        btx.commit()
    write(store, backend, ("put", b"c", b"4"))
    reopened = KVStore(backend)
    assert reopened.current_revision == store.current_revision == 7
    assert reopened.compact_revision == 4
    assert snapshot(reopened) == snapshot(store)
    write(reopened, backend, ("put", b"c", b"5"))
    kv = reopened.range(b"c").kvs[0]
    assert (kv.create_revision, kv.mod_revision, kv.version) == (5, 8, 3)


def test_reopen_after_everything_was_compacted_away(backend: Backend) -> None:
    store = KVStore(backend)
    write(store, backend, ("put", b"a", b"1"))
    write(store, backend, ("del", b"a", None))
    with backend.write() as btx:
        store.compact(btx, 3)
        btx.commit()
    purge(store, backend)
    with backend.read() as txn:
        assert list(txn.range(schema.KEY, b"")) == []
    reopened = KVStore(backend)
    assert (reopened.current_revision, reopened.compact_revision) == (3, 3)


def test_reopen_finishes_a_compaction_cut_short(backend: Backend) -> None:
    store = KVStore(backend)
    for value in (b"1", b"2", b"3"):
        write(store, backend, ("put", b"k", value))
    with backend.write() as btx:  # as if the process died after scheduling
        btx.put(schema.META, schema.META_SCHEDULED_COMPACT_REV, Revision(3).to_bytes())
        btx.commit()
    reopened = KVStore(backend)
    assert reopened.compact_revision == 3
    purge(reopened, backend)
    with backend.read() as txn:
        assert [Revision.from_bytes(k).main for k, _ in txn.range(schema.KEY, b"")] == [3, 4]
        finished = txn.get(schema.META, schema.META_FINISHED_COMPACT_REV)
    assert finished == Revision(3).to_bytes()


class Leases:
    def __init__(self) -> None:
        self.owner: dict[bytes, int] = {}

    def key_put(self, key: bytes, lease: int) -> None:
        if lease:
            self.owner[key] = lease
        else:
            self.owner.pop(key, None)

    def key_deleted(self, key: bytes) -> None:
        self.owner.pop(key, None)


def test_lease_attachments_follow_writes_and_restore(backend: Backend) -> None:
    leases = Leases()
    store = KVStore(backend, leases=leases)
    write(store, backend, ("put", b"a", b"1", 7), ("put", b"b", b"1", 7), ("put", b"c", b"1", 8))
    write(store, backend, ("put", b"a", b"2"), ("del", b"b", None))
    assert leases.owner == {b"c": 8}
    restored = Leases()
    KVStore(backend, leases=restored)
    assert restored.owner == {b"c": 8}


def test_a_compaction_cut_short_resumes_on_reopen(backend: Backend) -> None:
    store = KVStore(backend)
    for i in range(10):
        write(store, backend, ("put", b"k%d" % (i % 3), b"%d" % i))
    with backend.write() as btx:
        store.compact(btx, 8)
        store.purge_step(btx, limit=2)  # then the process dies
        btx.commit()
    reopened = KVStore(backend)
    assert reopened.compacting and reopened.compact_revision == 8
    with backend.write() as btx:
        while reopened.purge_step(btx, limit=2):
            pass
        btx.commit()
    with backend.read() as txn:
        kept = [Revision.from_bytes(k).main for k, _ in txn.range(schema.KEY, b"")]
        finished = txn.get(schema.META, schema.META_FINISHED_COMPACT_REV)
    assert kept == [6, 7, 8, 9, 10, 11]
    assert Revision.from_bytes(finished).main == 8
