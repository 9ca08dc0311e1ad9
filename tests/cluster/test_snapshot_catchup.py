"""A member that missed more than the leader's log keeps catches up from a snapshot."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.cluster import KvcoreCluster

from .reads import last_revision, put_keys, read_prefix

pytestmark = pytest.mark.kvcore

PREFIX = "snap/"
KEYS = 100


def test_stopped_member_restores_from_snapshot(
    make_kvcore_cluster: Callable[..., KvcoreCluster],
) -> None:
    cluster = make_kvcore_cluster(snapshot={"count": 20, "catchup_entries": 5})
    leader = cluster.wait_leader()
    behind = next(m for m in cluster.members.values() if m is not leader)
    behind.stop()
    written = put_keys(leader, PREFIX, KEYS)

    behind.start()
    assert cluster.wait_converged() == last_revision(written)
    assert read_prefix(behind, PREFIX, serializable=True) == written
    assert "restored from the leader's snapshot" in behind.process.log()
