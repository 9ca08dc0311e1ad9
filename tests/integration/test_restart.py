"""Crash right after acknowledged writes, restart on the same data dir: nothing is lost."""

from __future__ import annotations

from support.rawclient import RawClient
from support.requests import FROM_KEY, Step, delete, put, rng, txn
from support.servers import Server

from kvcore.api.etcdserverpb import rpc_pb2

BATCH = 200


def _write_batch(client: RawClient) -> dict[bytes, tuple[bytes, int]]:
    """Acknowledged writes; returns what each key must hold: (value, mod_revision)."""
    expected: dict[bytes, tuple[bytes, int]] = {}

    def send(step: Step) -> int:
        return client.ok(step.method, step.request).header.revision

    for i in range(BATCH):
        key, value = f"r/{i % 50:02d}".encode(), f"v{i}".encode()
        expected[key] = (value, send(put(key, value)))
    revision = send(txn(success=[put("r/t1", "a"), put("r/t2", "b")]))
    expected[b"r/t1"], expected[b"r/t2"] = (b"a", revision), (b"b", revision)
    send(delete("r/00", "r/05"))
    for key in [f"r/{i:02d}".encode() for i in range(5)]:
        del expected[key]
    return expected


def _stored(client: RawClient) -> tuple[dict[bytes, tuple[bytes, int]], int]:
    step = rng(FROM_KEY, FROM_KEY)
    response: rpc_pb2.RangeResponse = client.ok(step.method, step.request)
    return {kv.key: (kv.value, kv.mod_revision) for kv in response.kvs}, response.header.revision


def test_kill9_after_acknowledged_writes(fresh_subject: Server) -> None:
    with fresh_subject.client() as client:
        expected = _write_batch(client)
        head = client.revision()
    fresh_subject.kill9()
    fresh_subject.restart()
    with fresh_subject.client() as client:
        stored, revision = _stored(client)
        assert revision == head
        assert stored == expected
        after = put("r/after", "1")
        assert client.ok(after.method, after.request).header.revision == head + 1


def test_restart_twice_keeps_history(fresh_subject: Server) -> None:
    with fresh_subject.client() as client:
        for i in range(3):
            step = put("h", str(i))
            client.ok(step.method, step.request)
    for _ in range(2):
        fresh_subject.kill9()
        fresh_subject.restart()
    with fresh_subject.client() as client:
        old = rng("h", revision=3)
        kv = client.ok(old.method, old.request).kvs[0]
        assert (kv.value, kv.mod_revision, kv.version) == (b"1", 3, 2)
