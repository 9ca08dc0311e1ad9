"""Fixtures for whole-node tests (tests/differential, tests/integration).

A *subject* is the server under test and a *reference* is real etcd. Subjects come in
two kinds: "etcd" (etcd against etcd: proves the harness itself is deterministic) and
"kvcore". kvcore-side tests carry the ``kvcore`` marker and only run when the
environment has KVCORE_E2E=1; once switched on they fail, never skip, while kvcore
cannot serve.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from support.process import Supervisor
from support.servers import NodeFactory, Server

KVCORE_SWITCH = "KVCORE_E2E"

SUBJECTS = [
    pytest.param("etcd", id="etcd-vs-etcd"),
    pytest.param("kvcore", id="kvcore", marks=pytest.mark.kvcore),
]


def kvcore_enabled() -> bool:
    return os.environ.get(KVCORE_SWITCH) == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"kvcore: runs against a kvcore process; only with {KVCORE_SWITCH}=1"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if kvcore_enabled():
        return
    kept = [item for item in items if item.get_closest_marker("kvcore") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.fixture(scope="session")
def supervisor() -> Iterator[Supervisor]:
    """Stops every process the session started, whatever the fixtures managed to do."""
    supervisor = Supervisor()
    yield supervisor
    supervisor.stop_all()


def _factory(supervisor: Supervisor, tmp: pytest.TempPathFactory) -> Iterator[NodeFactory]:
    factory = NodeFactory(supervisor, tmp.mktemp("nodes"))
    yield factory
    factory.stop_all()


@pytest.fixture
def nodes(supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeFactory]:
    """Start nodes for one test: ``nodes.start("kvcore", **config)``; all stop after it."""
    yield from _factory(supervisor, tmp_path_factory)


@pytest.fixture(scope="module")
def module_nodes(
    supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NodeFactory]:
    yield from _factory(supervisor, tmp_path_factory)


@pytest.fixture(params=SUBJECTS)
def fresh_subject(request: pytest.FixtureRequest, nodes: NodeFactory) -> Server:
    """A new, empty server under test, for one test."""
    return nodes.start(request.param)


@pytest.fixture
def fresh_reference(nodes: NodeFactory) -> Server:
    """A new, empty etcd, for one test."""
    return nodes.start("etcd")


@pytest.fixture(scope="module", params=SUBJECTS)
def shared_subject(request: pytest.FixtureRequest, module_nodes: NodeFactory) -> Server:
    """A server under test shared by a module; tests keep to their own key prefixes."""
    return module_nodes.start(request.param)


@pytest.fixture(scope="module")
def shared_reference(module_nodes: NodeFactory) -> Server:
    """An etcd shared by a module; tests keep to their own key prefixes."""
    return module_nodes.start("etcd")
