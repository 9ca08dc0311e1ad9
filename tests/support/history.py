"""A batch of acknowledged writes, and what the store holds: for crash and restart tests."""

from __future__ import annotations

from kvcore.api.etcdserverpb import rpc_pb2
from support.rawclient import RawClient
from support.requests import FROM_KEY, Step, delete, put, rng, txn

BATCH = 200


def write_batch(client: RawClient) -> dict[bytes, tuple[bytes, int]]:
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


def stored(client: RawClient) -> tuple[dict[bytes, tuple[bytes, int]], int]:
    step = rng(FROM_KEY, FROM_KEY)
    response: rpc_pb2.RangeResponse = client.ok(step.method, step.request)
    return {kv.key: (kv.value, kv.mod_revision) for kv in response.kvs}, response.header.revision
