"""A watcher on a follower sees every write, once, in order: across a leader kill, and
across a snapshot restore."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest
from cluster.reads import last_revision, put_keys, read_prefix
from cluster.writer import FailoverWriter
from support.cluster import KvcoreCluster, poll
from support.requests import prefix_end

from .client import WatchClient

pytestmark = pytest.mark.kvcore

PREFIX = "watch-failover/"
FAILOVER_LIMIT_SECONDS = 5.0
WARMUP_ACKS = 20
ACKS_AFTER_KILL = 20
SNAPSHOT_KEYS = 400


def test_follower_watcher_sees_every_event_across_leader_kill(
    kvcore_cluster: KvcoreCluster,
) -> None:
    leader = kvcore_cluster.wait_leader()
    follower = next(m for m in kvcore_cluster.live() if m is not leader)
    key = PREFIX.encode()
    with WatchClient(follower.endpoint) as watch:
        watch.create(key, range_end=prefix_end(key), prev_kv=True)
        assert watch.next().created
        writer = FailoverWriter(kvcore_cluster.endpoints(), PREFIX)
        writer.start()
        try:
            poll("the first writes", lambda: len(writer.acks) >= WARMUP_ACKS or None, 10)
            leader.kill9()
            new = kvcore_cluster.wait_leader(timeout=FAILOVER_LIMIT_SECONDS + 5)
            elected_at = time.monotonic()
            assert new is not leader
            poll(
                "writes under the new leader",
                lambda: writer.acked_after(elected_at) >= ACKS_AFTER_KILL or None,
                FAILOVER_LIMIT_SECONDS + 5,
            )
        finally:
            writer.stop()
        stored = read_prefix(new, PREFIX)  # every write that took effect, acked or not
        want = sorted((revision, k, v) for k, (v, revision) in stored.items())
        got = []
        while len(got) < len(want):
            for event in watch.next().events:
                assert not event.HasField("prev_kv")  # each key is written once
                got.append((event.kv.mod_revision, event.kv.key, event.kv.value))
        assert watch.quiet(0.5) == []
    assert got == want  # in revision order, no gap, no repeat
    acked = {(a.revision, a.key, a.value) for a in writer.acks}
    assert acked <= set(got)


def test_watcher_on_a_member_restored_from_snapshot_misses_nothing(
    make_kvcore_cluster: Callable[..., KvcoreCluster],
) -> None:
    """The member is paused (SIGSTOP) while the leader writes past its log; resumed, it
    restores the leader's snapshot, and its watcher catches up from the new history."""
    cluster = make_kvcore_cluster(snapshot={"count": 20, "catchup_entries": 5})
    leader = cluster.wait_leader()
    behind = next(m for m in cluster.live() if m is not leader)
    key = b"watch-snap/"
    with WatchClient(behind.endpoint) as watch:
        watch.create(key, range_end=prefix_end(key))
        assert watch.next().created
        os.killpg(behind.process.pid, signal.SIGSTOP)
        try:
            written = put_keys(leader, key.decode(), SNAPSHOT_KEYS)
        finally:
            os.killpg(behind.process.pid, signal.SIGCONT)
        assert cluster.wait_converged() == last_revision(written)
        want = sorted((revision, k, v) for k, (v, revision) in written.items())
        got = []
        while len(got) < len(want):
            got += [(e.kv.mod_revision, e.kv.key, e.kv.value) for e in watch.next().events]
        assert watch.quiet(0.5) == []
    assert got == want
    assert "restored from the leader's snapshot" in behind.process.log()
