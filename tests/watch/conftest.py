"""Fixtures for watch tests: a kvcore and an etcd side by side for a module, and the
cluster fixtures of tests/cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster.conftest import kvcore_cluster, make_kvcore_cluster
from support.process import Supervisor
from support.servers import NodeFactory, Server, SparePool

__all__ = ["kvcore_cluster", "make_kvcore_cluster", "pair"]


@pytest.fixture(scope="module")
def pair(
    supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory, spare_pool: SparePool
) -> Iterator[tuple[Server, Server]]:
    """(kvcore, etcd) for one module; tests keep to their own keys."""
    factory = NodeFactory(supervisor, tmp_path_factory.mktemp("watch"), spare_pool)
    try:
        yield factory.start("kvcore"), factory.start("etcd")
    finally:
        factory.stop_all()
