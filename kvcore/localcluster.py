"""``kvcore cluster``: a local cluster of several members, each its own process.

Writes one config per member under a directory (the same shape as
``configs/cluster/node*.yaml``), starts ``kvcore serve`` for each, and stops them all
on SIGINT or SIGTERM. A member that dies (``kill -9`` it to try failover) is reported
and the others keep serving; restart it by hand with its config.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

MAX_MEMBERS = 6
_POLL_SECONDS = 0.5


def client_port(i: int) -> int:
    """Member i's client port: 2379, 22379, 32379, ... (its peer port is one above)."""
    return 2379 if i == 1 else 2379 + i * 10_000


def member_configs(
    members: int, engine: str, token: str, peer_transport: str = "tcp"
) -> dict[str, dict]:
    names = [f"node{i}" for i in range(1, members + 1)]
    peer = {n: f"http://127.0.0.1:{client_port(i) + 1}" for i, n in enumerate(names, 1)}
    return {
        name: {
            "name": name,
            "data_dir": f"{name}.kvcore",
            "cluster_token": token,
            "cluster_state": "new",
            "initial_cluster": peer,
            "peer_urls": peer[name],
            "peer_listener": {
                "transport": peer_transport,
                "address": f"127.0.0.1:{client_port(i) + 1}",
            },
            "engine": {"name": engine, "options": {}},
            "client_listeners": [{"transport": "h2", "address": f"127.0.0.1:{client_port(i)}"}],
        }
        for i, name in enumerate(names, 1)
    }


def run(members: int, directory: Path, engine: str, token: str, peer_transport: str = "tcp") -> int:
    if not 1 <= members <= MAX_MEMBERS:
        print(f"kvcore cluster: --members must be 1 to {MAX_MEMBERS}", file=sys.stderr)
        return 2
    directory.mkdir(parents=True, exist_ok=True)
    children: dict[str, subprocess.Popen] = {}
    for name, cfg in member_configs(members, engine, token, peer_transport).items():
        path = directory / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        log = (directory / f"{name}.log").open("ab")
        children[name] = subprocess.Popen(
            [sys.executable, "-m", "kvcore", "serve", "--config", path.name],
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    endpoints = ",".join(f"127.0.0.1:{client_port(i)}" for i in range(1, members + 1))
    print(f"kvcore cluster: {members} members in {directory} (logs: nodeN.log)")
    print(f"  etcdctl --endpoints {endpoints} endpoint status -w table", flush=True)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    reported: set[str] = set()
    while not stopping and len(reported) < len(children):
        for name, child in children.items():
            if name not in reported and child.poll() is not None:
                reported.add(name)
                print(f"kvcore cluster: {name} exited with status {child.returncode}", flush=True)
        time.sleep(_POLL_SECONDS)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    if stopping:
        return 0
    # Every member exited by itself: say why, from the end of each log.
    for name in children:
        lines = (directory / f"{name}.log").read_text(errors="replace").strip().splitlines()
        print(f"kvcore cluster: {name}: {lines[-1] if lines else '(empty log)'}", file=sys.stderr)
    return 1
