"""One kvcore and one etcd for all recipe tests (each test keeps to its own lock and
election names and lease ids): kvcore on the cluster tests' raft timing, whose minimum
lease TTL (1 s) is that of the etcd the tests start, so short leases expire alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The cluster tests' cluster factory, for the recipes on three members.
from cluster.conftest import make_kvcore_cluster
from support.cluster import TEST_RAFT
from support.process import Supervisor
from support.servers import NodeFactory, Server, SparePool


@pytest.fixture(scope="package")
def pair(
    supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory, spare_pool: SparePool
) -> Iterator[tuple[Server, Server]]:
    """(kvcore, etcd)."""
    factory = NodeFactory(supervisor, tmp_path_factory.mktemp("recipes"), spare_pool)
    try:
        yield factory.start("kvcore", raft=TEST_RAFT), factory.start("etcd")
    finally:
        factory.stop_all()


@pytest.fixture(scope="package")
def kvcore(pair: tuple[Server, Server]) -> Server:
    return pair[0]


__all__ = ["kvcore", "make_kvcore_cluster", "pair"]
