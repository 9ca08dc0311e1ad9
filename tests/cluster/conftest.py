"""Fixtures for cluster tests: kvcore and etcd clusters of real processes on loopback.

Every cluster a test makes is stopped after it, data directories included in the
test's temporary directory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cluster import Cluster, EtcdCluster, KvcoreCluster
from support.process import Supervisor


@pytest.fixture
def make_kvcore_cluster(
    supervisor: Supervisor, tmp_path: Path
) -> Iterator[Callable[..., KvcoreCluster]]:
    """``make_kvcore_cluster(size=3, **config)``: a started cluster with one leader."""
    made: list[Cluster] = []

    def make(size: int = 3, **config: Any) -> KvcoreCluster:
        cluster = KvcoreCluster(supervisor, tmp_path / f"kvcore-{len(made)}", size, **config)
        made.append(cluster)
        cluster.start()
        return cluster

    yield make
    for cluster in made:
        cluster.stop_all()


@pytest.fixture
def kvcore_cluster(make_kvcore_cluster: Callable[..., KvcoreCluster]) -> KvcoreCluster:
    return make_kvcore_cluster()


@pytest.fixture
def etcd_cluster(supervisor: Supervisor, tmp_path: Path) -> Iterator[EtcdCluster]:
    cluster = EtcdCluster(supervisor, tmp_path / "etcd")
    try:
        yield cluster.start()
    finally:
        cluster.stop_all()
