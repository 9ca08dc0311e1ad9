"""The PyPI ``etcd3`` client sees the same results from the subject as from etcd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.servers import Server

pytestmark = pytest.mark.etcd

PROBE = Path(__file__).with_name("etcd3_probe.py")


def run_probe(server: Server, prefix: str, probe: Path = PROBE) -> Any:
    """Run an etcd3 probe script (default: this directory's) against ``server``."""
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    done = subprocess.run(
        [sys.executable, str(probe), server.endpoint, prefix],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"etcd3 probe against {server.kind} failed:\n{done.stderr}"
    return json.loads(done.stdout)


def test_etcd3_client_sees_the_same(shared_subject: Server, shared_reference: Server) -> None:
    got = run_probe(shared_subject, "etcd3/")
    assert got == run_probe(shared_reference, "etcd3/")
    assert ["replace-hit", True] in got  # the probe did what it says
