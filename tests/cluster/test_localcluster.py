"""`kvcore cluster --members 3`: a working cluster from one command, gone after SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.cluster import poll
from support.etcdctl import Etcdctl
from support.ports import HOST
from support.process import ManagedProcess, Supervisor
from support.rawclient import RawClient, RpcFailure
from support.servers import kvcore_env

from kvcore import localcluster
from kvcore.api.etcdserverpb import rpc_pb2

pytestmark = pytest.mark.kvcore

MEMBERS = 3
READY_SECONDS = 30.0
EXIT_SECONDS = 15.0
CLIENT_PORTS = [localcluster.client_port(i) for i in range(1, MEMBERS + 1)]
# The fixed ports `kvcore cluster` uses: clients, and peers one above.
PORTS = [port + peer for port in CLIENT_PORTS for peer in (0, 1)]
ENDPOINTS = [f"{HOST}:{port}" for port in CLIENT_PORTS]


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) != 0


def one_leader() -> int | None:
    leaders = set()
    for endpoint in ENDPOINTS:
        with RawClient(endpoint) as client:
            status = client.call("Status", rpc_pb2.StatusRequest(), timeout=1.0)
        if isinstance(status, RpcFailure) or not status.leader:  # type: ignore[attr-defined]
            return None
        leaders.add(status.leader)  # type: ignore[attr-defined]
    return leaders.pop() if len(leaders) == 1 else None


def test_cluster_command(supervisor: Supervisor, tmp_path: Path) -> None:
    busy = [port for port in PORTS if not port_free(port)]
    assert not busy, f"`kvcore cluster` needs its fixed ports, but {busy} are in use"
    process = supervisor.start(
        ManagedProcess(
            [sys.executable, "-m", "kvcore", "cluster", "--members", str(MEMBERS), "--dir", "c"],
            tmp_path / "cluster.log",
            env=kvcore_env(),
            cwd=tmp_path,
        )
    )
    process.wait_ready(lambda: one_leader() is not None, READY_SECONDS)
    members = children(process.pid)
    assert len(members) == MEMBERS

    ctl = Etcdctl(",".join(ENDPOINTS))
    ctl.run("put", "local", "cluster").check()
    for endpoint in ENDPOINTS:
        got = Etcdctl(endpoint).run("get", "local", "--print-value-only").check()
        assert got.stdout == "cluster\n", endpoint

    os.kill(process.pid, signal.SIGTERM)  # the command alone: it must stop its members
    assert process.wait_exit(EXIT_SECONDS) == 0, process.describe("exit status")
    poll("every member to exit", lambda: all(map(gone, members)) or None, EXIT_SECONDS)
    assert all(map(port_free, PORTS)), "a member still listens"


def test_cluster_command_fails_when_every_member_does(tmp_path: Path) -> None:
    """Members that cannot start (an engine nobody installed) make the command fail and
    say why, rather than leave a banner for a cluster that is not there."""
    done = subprocess.run(
        [sys.executable, "-m", "kvcore", "cluster", "--members", "2", "--dir", str(tmp_path),
         "--engine", "no-such-engine"],
        env=kvcore_env(), capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert "kvcore cluster: node1: " in done.stderr
    assert "engine.name" in done.stderr
