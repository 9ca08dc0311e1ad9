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
