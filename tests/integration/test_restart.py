"""Crash right after acknowledged writes, restart on the same data dir: nothing is lost."""

from __future__ import annotations

from support.history import stored, write_batch
from support.requests import put, rng
from support.servers import Server


def test_kill9_after_acknowledged_writes(fresh_subject: Server) -> None:
    with fresh_subject.client() as client:
        expected = write_batch(client)
        head = client.revision()
    fresh_subject.kill9()
    fresh_subject.restart()
    with fresh_subject.client() as client:
        held, revision = stored(client)
        assert revision == head
        assert held == expected
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
