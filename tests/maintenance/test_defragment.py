"""Defragmentation runs beside the event loop: reads keep being answered and writes
keep being applied while it runs, and none of those writes is lost when the
defragmented store is swapped in.

RocksDB with zstd compacts ~50 MB of incompressible values (100 txns x 128 x 4 KB) in
well over a second here, long enough that a defragmentation on the loop would show as
a read gap that long; LMDB copies faster, but its copy must take in the writes made
while it was written.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

import pytest
from support.servers import NodeFactory

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .nodes import CALL_TIMEOUT_SECONDS, Stubs, fill

# A read unanswered this long during the defragmentation means the loop was blocked.
MAX_READ_GAP_SECONDS = 0.5


class _Load:
    """A reader and a writer running until stopped, each recording when it got answers."""

    def __init__(self, stubs: Stubs) -> None:
        self._stubs = stubs
        self._stop = threading.Event()
        self.reads: list[float] = []  # completion times
        self.writes: list[tuple[int, float, float]] = []  # (n, sent, acknowledged)
        self._threads = [
            threading.Thread(target=self._read),
            threading.Thread(target=self._write),
        ]

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _read(self) -> None:
        while not self._stop.is_set():
            self._stubs.kv.Range(pb.RangeRequest(key=b"w/000000"), timeout=CALL_TIMEOUT_SECONDS)
            self.reads.append(time.monotonic())

    def _write(self) -> None:
        n = 0
        while not self._stop.is_set():
            sent = time.monotonic()
            request = pb.PutRequest(key=b"w/%06d" % n, value=b"%d" % n)
            self._stubs.kv.Put(request, timeout=CALL_TIMEOUT_SECONDS)
            self.writes.append((n, sent, time.monotonic()))
            n += 1


@pytest.mark.parametrize(
    ("engine", "txns"),
    [({"name": "rocksdb", "options": {"compression": "zstd"}}, 100), ({"name": "lmdb"}, 15)],
    ids=["rocksdb", "lmdb"],
)
def test_reads_and_writes_go_on_during_defragment(
    nodes: NodeFactory, engine: dict, txns: int
) -> None:
    node = nodes.start("kvcore", engine=engine)
    with Stubs(node) as stubs:
        fill(stubs, b"fill/", txns, os.urandom(4000))
        stubs.kv.DeleteRange(pb.DeleteRangeRequest(key=b"fill/", range_end=b"fill/003000"))
        with _Load(stubs) as load:
            time.sleep(0.3)
            started = time.monotonic()
            answer = stubs.maintenance.Defragment(pb.DefragmentRequest(), timeout=60)
            ended = time.monotonic()
            time.sleep(0.3)
        assert answer == pb.DefragmentResponse()  # no header, as etcd's
        took = ended - started
        during = [started, *(t for t in load.reads if started <= t <= ended), ended]
        gaps = [b - a for a, b in itertools.pairwise(during)]
        assert max(gaps) < MAX_READ_GAP_SECONDS, f"reads stalled {max(gaps):.2f}s of {took:.2f}s"
        slowest = max(acked - sent for _, sent, acked in load.writes)
        assert slowest < took + 1.0, f"a write waited {slowest:.2f}s, defragment took {took:.2f}s"
        written = stubs.kv.Range(pb.RangeRequest(key=b"w/", range_end=b"w0"))
        assert [(kv.key, kv.value) for kv in written.kvs] == [
            (b"w/%06d" % n, b"%d" % n) for n, _, _ in load.writes
        ]
        assert any(started <= acked <= ended for _, _, acked in load.writes) or took < 0.1
