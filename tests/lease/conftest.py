"""Servers for lease tests, one of each kind per module (tests keep to their own lease
ids and key prefixes, and leave no lease behind): kvcore runs on the cluster tests'
raft timing, whose minimum lease TTL (1 s) is that of the etcd the tests start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The cluster tests' cluster factory, for the lease tests on three members.
from cluster.conftest import make_kvcore_cluster
from support.cluster import TEST_RAFT
from support.process import Supervisor
from support.servers import NodeFactory, Server, SparePool


@pytest.fixture(scope="module")
def lease_nodes(
    supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory, spare_pool: SparePool
) -> Iterator[NodeFactory]:
    factory = NodeFactory(supervisor, tmp_path_factory.mktemp("lease-nodes"), spare_pool)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def kvcore(lease_nodes: NodeFactory) -> Server:
    return lease_nodes.start("kvcore", raft=TEST_RAFT)


@pytest.fixture(scope="module")
def etcd(lease_nodes: NodeFactory) -> Server:
    return lease_nodes.start("etcd")


__all__ = ["etcd", "kvcore", "lease_nodes", "make_kvcore_cluster"]
