"""The PyPI ``etcd3`` client's alarm, defragment and snapshot calls see kvcore as etcd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.servers import NodeFactory, Server

pytestmark = pytest.mark.etcd

PROBE = Path(__file__).with_name("etcd3_probe.py")


def _probe(server: Server) -> Any:
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    done = subprocess.run(
        [sys.executable, str(PROBE), server.endpoint],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"etcd3 probe against {server.kind} failed:\n{done.stderr}"
    return json.loads(done.stdout)


def test_etcd3_client_alarms_defragment_snapshot(nodes: NodeFactory) -> None:
    expected = _probe(nodes.start("etcd"))
    assert ["list", [["self", 1]]] in expected  # NOSPACE raised by hand, as the probe says
    assert _probe(nodes.start("kvcore")) == expected
