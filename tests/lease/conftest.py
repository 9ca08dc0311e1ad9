"""Servers for lease tests: kvcore on the cluster tests' raft timing, whose minimum
lease TTL (1 s) is that of the etcd the tests start."""

from __future__ import annotations

import pytest
from support.cluster import TEST_RAFT
from support.servers import NodeFactory, Server


@pytest.fixture
def kvcore(nodes: NodeFactory) -> Server:
    return nodes.start("kvcore", raft=TEST_RAFT)


@pytest.fixture
def etcd(nodes: NodeFactory) -> Server:
    return nodes.start("etcd")


# The cluster tests' cluster factory, for the lease tests on three members.
from cluster.conftest import make_kvcore_cluster  # noqa: E402

__all__ = ["etcd", "kvcore", "make_kvcore_cluster"]
