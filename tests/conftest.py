"""Fixtures for whole-node tests (tests/differential, tests/integration).

A *subject* is the server under test and a *reference* is real etcd. Subjects come in
two kinds: "etcd" (etcd against etcd: proves the harness itself is deterministic) and
"kvcore". kvcore-side tests carry the ``kvcore`` marker (``-m "not kvcore"`` runs the
harness on etcd alone); they fail, never skip, when kvcore cannot serve.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.process import Supervisor
from support.servers import NodeFactory, Server, SparePool

SUBJECTS = [
    pytest.param("etcd", id="subject=etcd", marks=pytest.mark.etcd),
    pytest.param("kvcore", id="subject=kvcore", marks=pytest.mark.kvcore),
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kvcore: runs against a kvcore process")


@pytest.fixture(scope="session")
def supervisor() -> Iterator[Supervisor]:
    """Stops every process the session started, whatever the fixtures managed to do."""
    supervisor = Supervisor()
    yield supervisor
    supervisor.stop_all()


@pytest.fixture(scope="session")
def spare_pool(
    supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SparePool]:
    """Nodes booting ahead of need (see SparePool)."""
    pool = SparePool(supervisor, tmp_path_factory.mktemp("spares"))
    yield pool
    pool.stop_all()


def _factory(
    supervisor: Supervisor, tmp: pytest.TempPathFactory, pool: SparePool
) -> Iterator[NodeFactory]:
    factory = NodeFactory(supervisor, tmp.mktemp("nodes"), pool)
    yield factory
    factory.stop_all()


@pytest.fixture
def nodes(
    supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory, spare_pool: SparePool
) -> Iterator[NodeFactory]:
    """Nodes for one test: ``nodes.start("kvcore", **config)``; all stop after it."""
    yield from _factory(supervisor, tmp_path_factory, spare_pool)


@pytest.fixture(scope="module", params=SUBJECTS)
def subject_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def module_nodes(
    subject_kind: str,
    supervisor: Supervisor,
    tmp_path_factory: pytest.TempPathFactory,
    spare_pool: SparePool,
) -> Iterator[NodeFactory]:
    """Nodes for one module and one subject kind: each kind gets servers of its own."""
    yield from _factory(supervisor, tmp_path_factory, spare_pool)


@pytest.fixture(params=SUBJECTS)
def fresh_subject(request: pytest.FixtureRequest, nodes: NodeFactory) -> Server:
    """A new, empty server under test, for one test."""
    return nodes.start(request.param)


@pytest.fixture
def fresh_reference(nodes: NodeFactory) -> Server:
    """A new, empty etcd, for one test."""
    return nodes.start("etcd")


@pytest.fixture(scope="module")
def shared_subject(subject_kind: str, module_nodes: NodeFactory) -> Server:
    """A server under test shared by a module; tests keep to their own key prefixes."""
    return module_nodes.start(subject_kind)


@pytest.fixture(scope="module")
def shared_reference(module_nodes: NodeFactory) -> Server:
    """An etcd shared by a module; tests keep to their own key prefixes."""
    return module_nodes.start("etcd")
