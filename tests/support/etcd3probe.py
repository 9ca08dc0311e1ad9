"""Runs a probe script that drives a server with the PyPI ``etcd3`` client.

A probe runs in a process of its own (etcd3's generated classes clash with kvcore's,
and it needs the pure-Python protobuf) and prints what it saw as JSON on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PROBE_TIMEOUT_SECONDS = 60


def run_probe(probe: Path, *args: str) -> Any:
    """Run ``probe`` with ``args``; what it printed, parsed."""
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    done = subprocess.run(
        [sys.executable, str(probe), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=PROBE_TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"{probe.name} {' '.join(args)} failed:\n{done.stderr}"
    return json.loads(done.stdout)
