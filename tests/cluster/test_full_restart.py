"""The whole cluster restarts from its data directories, after SIGTERM and after kill -9."""

from __future__ import annotations

import pytest
from support.cluster import KvcoreCluster

from .reads import Contents, last_revision, put_keys, read_prefix

pytestmark = pytest.mark.kvcore

PREFIX = "restart/"


def restart_all(cluster: KvcoreCluster) -> None:
    cluster.start_members(list(cluster.members.values()))
    cluster.wait_published()


def assert_everywhere(cluster: KvcoreCluster, expected: Contents) -> None:
    """Same revision on every member, and exactly the acknowledged puts under PREFIX."""
    assert cluster.wait_converged() == last_revision(expected)
    for member in cluster.live():
        assert read_prefix(member, PREFIX) == expected, member.name


def test_restart_after_sigterm_and_after_kill9(kvcore_cluster: KvcoreCluster) -> None:
    written = put_keys(kvcore_cluster.wait_leader(), f"{PREFIX}a", 40)
    kvcore_cluster.stop_all()
    assert not kvcore_cluster.live()
    restart_all(kvcore_cluster)
    assert_everywhere(kvcore_cluster, written)

    written |= put_keys(kvcore_cluster.wait_leader(), f"{PREFIX}b", 40)
    kvcore_cluster.kill9_all()  # right after the last acknowledged put
    restart_all(kvcore_cluster)
    assert_everywhere(kvcore_cluster, written)
