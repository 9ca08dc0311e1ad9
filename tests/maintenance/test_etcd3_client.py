"""The PyPI ``etcd3`` client's alarm, defragment and snapshot calls see kvcore as etcd."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.etcd3probe import run_probe
from support.servers import NodeFactory, Server

pytestmark = pytest.mark.etcd

PROBE = Path(__file__).with_name("etcd3_probe.py")


def _probe(server: Server) -> Any:
    return run_probe(PROBE, server.endpoint)


def test_etcd3_client_alarms_defragment_snapshot(nodes: NodeFactory) -> None:
    expected = _probe(nodes.start("etcd"))
    assert ["list", [["self", 1]]] in expected  # NOSPACE raised by hand, as the probe says
    assert _probe(nodes.start("kvcore")) == expected
