"""Fresh servers for auth tests: auth is switched on for the whole store, so no server
is shared between tests."""

from __future__ import annotations

import pytest
from integration.compare import Pair
from support.servers import NodeFactory


@pytest.fixture
def pair(nodes: NodeFactory) -> Pair:
    """A new kvcore and a new etcd, driven with the same etcdctl commands."""
    return Pair(nodes.start("kvcore"), nodes.start("etcd"))
