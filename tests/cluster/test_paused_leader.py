"""A leader cut off (SIGSTOP: sockets open, nobody answered) under a stream of writes.

The other two elect a leader and go on; when the old leader runs again it still
believes it leads, in a term the others have left. It must not serve a stale
linearizable read, and no write acknowledged anywhere may be lost.
"""

from __future__ import annotations

import itertools
import time

import pytest
from support.cluster import KvcoreCluster, poll
from support.rawclient import RpcFailure

from kvcore.api.etcdserverpb import rpc_pb2

from .reads import read_prefix
from .writer import FailoverWriter

pytestmark = pytest.mark.kvcore

PREFIX = "paused/"
MARKER = b"marker-written-while-the-old-leader-was-paused"
FAILOVER_LIMIT_SECONDS = 5.0
WARMUP_ACKS = 20
ACKS_AFTER_PAUSE = 30


def test_paused_leader_serves_no_stale_read_and_loses_no_write(
    kvcore_cluster: KvcoreCluster,
) -> None:
    writer = FailoverWriter(kvcore_cluster.endpoints(), PREFIX)
    writer.start()
    try:
        poll("the first writes", lambda: len(writer.acks) >= WARMUP_ACKS or None, 10)
        old = kvcore_cluster.wait_leader()
        old.pause()
        new = kvcore_cluster.wait_leader(timeout=FAILOVER_LIMIT_SECONDS)
        elected_at = time.monotonic()
        assert new is not old
        with new.client() as client:
            client.ok("Put", rpc_pb2.PutRequest(key=MARKER, value=b"new"))
        poll(
            "writes to resume under the new leader",
            lambda: writer.acked_after(elected_at) >= ACKS_AFTER_PAUSE or None,
            FAILOVER_LIMIT_SECONDS + 5,
        )
        old.resume()
        # The first read it gets: it may fail while the old leader finds out it was
        # deposed, but if it answers, it answers with what the new leader committed.
        with old.client() as client:
            outcome = client.call("Range", rpc_pb2.RangeRequest(key=MARKER))
        answered = not isinstance(outcome, RpcFailure)
        print(f"first read on the resumed old leader answered: {answered}")
        if answered:
            assert [kv.value for kv in outcome.kvs] == [b"new"], outcome  # type: ignore[attr-defined]
    finally:
        writer.stop()
        for member in kvcore_cluster.members.values():
            member.resume()

    revisions = [ack.revision for ack in writer.acks]
    assert all(a < b for a, b in itertools.pairwise(revisions)), revisions
    kvcore_cluster.wait_converged(list(kvcore_cluster.members.values()))
    for member in kvcore_cluster.members.values():
        stored = read_prefix(member, PREFIX, serializable=True)
        lost = [a for a in writer.acks if stored.get(a.key) != (a.value, a.revision)]
        assert not lost, f"{member.name} lost acknowledged writes: {lost[:5]}"
