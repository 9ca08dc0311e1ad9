"""A kvcore node with an HTTP listener, and an etcd, for the gateway tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.gateway import HttpKvcore, etcd_gateway_url
from support.process import Supervisor
from support.servers import EtcdServer


@pytest.fixture(scope="module")
def kvcore_http(
    supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HttpKvcore]:
    node = HttpKvcore(supervisor, tmp_path_factory.mktemp("kvcore-http"))
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def etcd_url(supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    node = EtcdServer(supervisor, tmp_path_factory.mktemp("etcd-http"))
    node.start()
    yield etcd_gateway_url(node)
    node.stop()
