"""Kill -9 the leader under a steady stream of writes: no acknowledged write is lost."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest
from support.cluster import ELECTION_MS, KvcoreCluster, poll

from .reads import read_prefix
from .writer import FailoverWriter

pytestmark = pytest.mark.kvcore

PREFIX = "failover/"
# A new leader within a few election timeouts (randomized in [1, 2) x election).
FAILOVER_LIMIT_SECONDS = 5.0
WARMUP_ACKS = 20
ACKS_AFTER_KILL = 30


# Both peer transports: tcp, the default every other cluster test runs on, and grpc.
@pytest.mark.parametrize("peer_transport", ["tcp", "grpc"])
def test_leader_kill9_loses_no_acknowledged_write(
    make_kvcore_cluster: Callable[..., KvcoreCluster], peer_transport: str
) -> None:
    kvcore_cluster = make_kvcore_cluster(peer_transport=peer_transport)
    writer = FailoverWriter(kvcore_cluster.endpoints(), PREFIX)
    writer.start()
    try:
        poll("the first writes", lambda: len(writer.acks) >= WARMUP_ACKS or None, 10)
        old = kvcore_cluster.wait_leader()
        killed_at = time.monotonic()
        old.kill9()
        new = kvcore_cluster.wait_leader(timeout=FAILOVER_LIMIT_SECONDS)
        elected_at = time.monotonic()
        assert new is not old
        poll(
            "writes to resume under the new leader",
            lambda: writer.acked_after(elected_at) >= ACKS_AFTER_KILL or None,
            FAILOVER_LIMIT_SECONDS + 5,
        )
    finally:
        writer.stop()
    stall = max(b.at - a.at for a, b in itertools.pairwise(writer.acks))
    print(
        f"election {ELECTION_MS} ms: new leader after {elected_at - killed_at:.2f}s, "
        f"longest stall between acks {stall:.2f}s, {len(writer.acks)} acks, "
        f"{len(writer.failures)} failed attempts"
    )
    assert stall < FAILOVER_LIMIT_SECONDS

    revisions = [ack.revision for ack in writer.acks]
    assert all(a < b for a, b in itertools.pairwise(revisions)), revisions
    for member in kvcore_cluster.live():
        stored = read_prefix(member, PREFIX)
        lost = [a for a in writer.acks if stored.get(a.key) != (a.value, a.revision)]
        assert not lost, f"{member.name} lost acknowledged writes: {lost[:5]}"

    old.start()
    revision = kvcore_cluster.wait_converged(list(kvcore_cluster.members.values()))
    assert read_prefix(old, PREFIX, serializable=True) == read_prefix(new, PREFIX)
    assert revision >= revisions[-1]
