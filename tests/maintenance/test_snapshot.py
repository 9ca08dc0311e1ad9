"""``etcdctl snapshot save`` of a store many stream chunks long, taken while a writer
runs, restored with ``kvcore snapshot restore`` onto another engine.

The stream is read from one read snapshot on a worker thread, so the restored store
is the whole state at one revision: every fill key, and the writer's keys up to some
point with none missing before it.
"""

from __future__ import annotations

import os
import threading

from support.servers import NodeFactory, new_node, restore_snapshot

from kvcore import schema
from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .nodes import CALL_TIMEOUT_SECONDS, Stubs, buckets_crc, fill, snapshot_pairs

FILL_TXNS = 20  # x 128 keys x 2 KB: ~5 MB


def _writer(stubs: Stubs, stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        request = pb.PutRequest(key=b"w/%06d" % n, value=b"%d" % n)
        stubs.kv.Put(request, timeout=CALL_TIMEOUT_SECONDS)
        n += 1


def test_snapshot_of_a_large_store_restores_on_another_engine(nodes: NodeFactory, tmp_path) -> None:
    node = nodes.start("kvcore", engine={"name": "rocksdb"})
    value = os.urandom(2000)
    snapshot = tmp_path / "large.snap"
    with Stubs(node) as stubs:
        fill(stubs, b"fill/", FILL_TXNS, value)
        # Many reads of the spool file, many batches of stream messages.
        assert stubs.maintenance.Status(pb.StatusRequest()).dbSizeInUse > 4 * (1 << 20)
        stop = threading.Event()
        writer = threading.Thread(target=_writer, args=(stubs, stop))
        writer.start()
        try:
            node.etcdctl().run("snapshot", "save", str(snapshot)).check()
        finally:
            stop.set()
            writer.join()

    restored = new_node(node.supervisor, tmp_path / "restored", "kvcore", engine={"name": "lmdb"})
    restore_snapshot(snapshot, restored)
    restored.start()
    nodes.adopt(restored)
    with Stubs(restored) as stubs:
        filled = stubs.kv.Range(pb.RangeRequest(key=b"fill/", range_end=b"fill0"))
        assert [kv.key for kv in filled.kvs] == [b"fill/%06d" % i for i in range(FILL_TXNS * 128)]
        assert all(kv.value == value for kv in filled.kvs)
        written = stubs.kv.Range(pb.RangeRequest(key=b"w/", range_end=b"w0"))
        assert [(kv.key, kv.value) for kv in written.kvs] == [
            (b"w/%06d" % n, b"%d" % n) for n in range(len(written.kvs))
        ]
        # One revision per txn and per put: the store is exactly the state at its revision.
        assert filled.header.revision == 1 + FILL_TXNS + len(written.kvs)


def test_hash_is_etcds_crc_of_the_buckets_a_snapshot_carries(nodes: NodeFactory, tmp_path) -> None:
    node = nodes.start("kvcore")
    snapshot = tmp_path / "small.snap"
    with Stubs(node) as stubs:
        fill(stubs, b"h/", 2, b"x" * 100)
        first = stubs.maintenance.Hash(pb.HashRequest(), timeout=CALL_TIMEOUT_SECONDS).hash
        node.etcdctl().run("snapshot", "save", str(snapshot)).check()
        again = stubs.maintenance.Hash(pb.HashRequest(), timeout=CALL_TIMEOUT_SECONDS).hash
        stubs.kv.Put(pb.PutRequest(key=b"h/more", value=b"1"), timeout=CALL_TIMEOUT_SECONDS)
        after = stubs.maintenance.Hash(pb.HashRequest(), timeout=CALL_TIMEOUT_SECONDS).hash
    assert first == again != after
    # etcd's Hash leaves out the applied index and term.
    applied = {(schema.META, schema.META_CONSISTENT_INDEX), (schema.META, schema.META_TERM)}
    crc = buckets_crc(snapshot_pairs(snapshot), leave_out=applied)
    assert crc == first
