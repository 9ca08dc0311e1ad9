"""Single-member etcd and kvcore nodes as real processes, behind one shape.

Both take a fresh work directory, pick their own ports, and are ready (a key read
succeeds over gRPC) when ``start`` returns. ``stop`` is SIGTERM then SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .etcdctl import Etcdctl
from .ports import HOST, free_port, free_ports
from .process import ManagedProcess, Supervisor
from .rawclient import RawClient

REPO_ROOT = Path(__file__).resolve().parents[2]
ETCD_READY_SECONDS = 20.0
KVCORE_READY_SECONDS = 30.0


class Server:
    """A node the tests started; ``kind`` is "etcd" or "kvcore"."""

    kind: str

    def __init__(self, supervisor: Supervisor, workdir: Path, port: int) -> None:
        self.supervisor = supervisor
        self.workdir = workdir
        self.port = port
        self.data_dir = workdir / "data"
        self.process: ManagedProcess | None = None

    @property
    def endpoint(self) -> str:
        return f"{HOST}:{self.port}"

    def etcdctl(self) -> Etcdctl:
        return Etcdctl(self.endpoint)

    def client(self) -> RawClient:
        return RawClient(self.endpoint)

    def start(self) -> Server:
        self.spawn()
        return self.wait_ready()

    def spawn(self) -> None:
        """Launch the process without waiting for it to serve."""
        self.process = self.supervisor.start(self._make_process())

    def wait_ready(self) -> Server:
        assert self.process is not None, f"{self.kind} not spawned"
        self.process.wait_ready(self._serves, self._ready_seconds())
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def discard(self) -> None:
        """Stop for good and free the disk the data took (etcd and kvcore both
        preallocate 64 MB WAL segments); the log stays for reading a failure."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def terminate(self) -> None:
        """SIGTERM without waiting; ``stop`` then waits (and SIGKILLs if need be)."""
        if self.process is not None:
            self.process.terminate()

    def kill9(self) -> None:
        """Crash: SIGKILL, no chance to flush anything."""
        assert self.process is not None, f"{self.kind} not started"
        self.process.kill9()

    def pause(self) -> None:
        assert self.process is not None, f"{self.kind} not started"
        self.process.pause()

    def resume(self) -> None:
        assert self.process is not None, f"{self.kind} not started"
        self.process.resume()

    def restart(self) -> Server:
        """Start again on the same port and data directory."""
        self.stop()
        return self.start()

    def _serves(self) -> bool:
        if not _port_open(self.port):
            return False
        with self.client() as client:
            return client.serves()

    def _make_process(self) -> ManagedProcess:
        raise NotImplementedError

    def _ready_seconds(self) -> float:
        raise NotImplementedError


class EtcdServer(Server):
    kind = "etcd"
    # One member elects itself after one election timeout: keep it short.
    heartbeat_ms = 10
    election_ms = 50

    def __init__(self, supervisor: Supervisor, workdir: Path) -> None:
        client_port, self.peer_port = free_ports(2)
        super().__init__(supervisor, workdir, client_port)
        self.name = workdir.name

    @property
    def peer_url(self) -> str:
        return f"http://{HOST}:{self.peer_port}"

    def initial_cluster(self) -> str:
        """etcd's --initial-cluster: this member alone (a cluster member overrides it)."""
        return f"{self.name}={self.peer_url}"

    def _make_process(self) -> ManagedProcess:
        client_url = f"http://{HOST}:{self.port}"
        peer_url = self.peer_url
        argv = [
            "etcd",
            f"--name={self.name}",
            f"--data-dir={self.data_dir}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster={self.initial_cluster()}",
            "--logger=zap",
            "--log-level=warn",
            f"--heartbeat-interval={self.heartbeat_ms}",
            f"--election-timeout={self.election_ms}",
            # Test data is thrown away: skip fsync to keep start-up and writes fast.
            "--unsafe-no-fsync",
        ]
        return ManagedProcess(argv, self.workdir / "etcd.log")

    def _ready_seconds(self) -> float:
        return ETCD_READY_SECONDS


class KvcoreServer(Server):
    kind = "kvcore"

    def __init__(self, supervisor: Supervisor, workdir: Path, **config: Any) -> None:
        super().__init__(supervisor, workdir, free_port())
        self.config_path = workdir / "kvcore.yaml"
        write_yaml(self.config_path, kvcore_config(self.endpoint, self.data_dir, **config))

    def _make_process(self) -> ManagedProcess:
        return ManagedProcess(
            kvcore_argv(self.config_path),
            self.workdir / "kvcore.log",
            env=kvcore_env(),
            cwd=self.workdir,
        )

    def _ready_seconds(self) -> float:
        return KVCORE_READY_SECONDS


def client_transport() -> str:
    """The transport of the client listeners of the kvcore nodes tests start."""
    return os.environ.get("KVCORE_TEST_CLIENT_TRANSPORT", "h2")


def kvcore_config(endpoint: str, data_dir: Path, **overrides: Any) -> dict[str, Any]:
    """A single-node config in the shape of configs/single.yaml; top-level keys override.

    The engine is KVCORE_TEST_ENGINE's (memory by default): ``make test-engines`` runs
    the node suite once per engine that way. KVCORE_TEST_FRONTEND=N serves the client
    listener from N gRPC worker processes (``make test-frontend``).
    KVCORE_TEST_CLIENT_TRANSPORT names the client listener's transport (h2, the
    default, or grpc: ``make test-grpc``).
    """
    listener: dict[str, Any] = {"transport": client_transport(), "address": endpoint}
    if workers := int(os.environ.get("KVCORE_TEST_FRONTEND", "0")):
        listener["options"] = {"frontend_processes": workers}
    config: dict[str, Any] = {
        "name": "kvcore-test",
        "data_dir": str(data_dir),
        "cluster_token": "kvcore-test-cluster",
        "engine": {"name": os.environ.get("KVCORE_TEST_ENGINE", "memory"), "options": {}},
        "client_listeners": [listener],
        "limits": {"max_request_bytes": 1_572_864, "max_txn_ops": 128},
    }
    config.update(overrides)
    return config


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def kvcore_argv(config_path: Path) -> list[str]:
    return [sys.executable, "-m", "kvcore", "serve", "--config", str(config_path)]


def kvcore_env() -> dict[str, str]:
    """The environment with this checkout first on the import path."""
    paths = [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def run_kvcore(config_path: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run kvcore to completion (for configs it must refuse); output is captured."""
    return subprocess.run(
        kvcore_argv(config_path),
        capture_output=True,
        text=True,
        env=kvcore_env(),
        cwd=config_path.parent,
        timeout=timeout,
        check=False,
    )


def restore_snapshot(snapshot: Path, node: Server) -> None:
    """``kvcore snapshot restore`` of ``snapshot`` into the data dir of ``node`` (a kvcore
    node not started yet); fails the test if kvcore refuses."""
    argv = [sys.executable, "-m", "kvcore", "snapshot", "restore", str(snapshot)]
    assert isinstance(node, KvcoreServer), node
    subprocess.run(
        [*argv, "--config", str(node.config_path)],
        check=True,
        env=kvcore_env(),
        cwd=node.workdir,
        capture_output=True,
    )


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


SERVER_KINDS: dict[str, type[Server]] = {"etcd": EtcdServer, "kvcore": KvcoreServer}


class SparePool:
    """Keeps one default node of each kind booting ahead of need.

    Fresh stores are wanted often and kvcore takes seconds to boot: handing out a node
    that was spawned during the previous test hides most of that.
    """

    def __init__(self, supervisor: Supervisor, root: Path) -> None:
        self._supervisor = supervisor
        self._root = root
        self._made = 0
        self._spares: dict[str, Server] = {}

    def take(self, kind: str) -> Server:
        """A ready node of ``kind``; the caller owns it and must stop it."""
        node = self._spares.pop(kind, None) or self._spawn(kind)
        self._spares[kind] = self._spawn(kind)
        return node.wait_ready()

    def stop_all(self) -> None:
        for node in self._spares.values():
            node.discard()
        self._spares.clear()

    def _spawn(self, kind: str) -> Server:
        node = new_node(self._supervisor, self._root / f"spare-{kind}-{self._made}", kind)
        self._made += 1
        node.spawn()
        return node


class NodeFactory:
    """Nodes for one test or module; ``stop_all`` ends every one it handed out."""

    def __init__(self, supervisor: Supervisor, root: Path, pool: SparePool) -> None:
        self._supervisor = supervisor
        self._root = root
        self._pool = pool
        self._nodes: list[Server] = []

    def start(self, kind: str, **config: Any) -> Server:
        """A ready node; with ``config`` overrides it boots now, else it comes from the pool."""
        if config:
            workdir = self._root / f"{kind}-{len(self._nodes)}"
            node = new_node(self._supervisor, workdir, kind, **config).start()
        else:
            node = self._pool.take(kind)
        self._nodes.append(node)
        return node

    def adopt(self, node: Server) -> None:
        """Stop ``node``, started elsewhere, with the others."""
        self._nodes.append(node)

    def stop_all(self) -> None:
        for node in self._nodes:
            node.terminate()  # all at once: they shut down side by side
        for node in self._nodes:
            node.discard()


def new_node(supervisor: Supervisor, workdir: Path, kind: str, **config: Any) -> Server:
    workdir.mkdir(parents=True)
    return SERVER_KINDS[kind](supervisor, workdir, **config)
