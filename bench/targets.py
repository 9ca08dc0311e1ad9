"""Servers under test: started on free loopback ports in temp dirs, always stopped.

Each starter is a context manager that yields a `Running` target once its ports
accept connections; the caller's seed step then waits until it answers requests.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]  # the kvcore checkout, for `python -m`
HOST = "127.0.0.1"
STOP_GRACE = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Running:
    endpoints: list[str]  # client "host:port"s, one per member
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)  # none if external
    python: bool = False  # its processes run Python, so py-spy can profile them

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def exited(self) -> list[str]:
        """The members that have exited, as "command (exit code)"."""
        return [f"{_cmd_name(p)} ({p.returncode})" for p in self.procs if p.poll() is not None]

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the target's processes used so far."""
        total = 0
        for pid in self.pids:
            with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / CLOCK_TICKS  # a reaped member counts no more: see exited()


def free_port() -> int:
    """A loopback port free right now (the OS may reuse it later: a small race)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _cmd_name(proc: subprocess.Popen[bytes]) -> str:
    return " ".join(str(a) for a in proc.args[:4])  # type: ignore[index]


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{_cmd_name(proc)} exited with {proc.returncode}:\n{_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout}s:\n{_tail(log)}")


@contextlib.contextmanager
def _processes(
    cmds: list[tuple[list[str], int]],
    logs: Path,
    python: bool = False,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> Iterator[Running]:
    """Start each command, wait until its port listens; stop all on exit."""
    procs: list[subprocess.Popen[bytes]] = []
    serving = False
    try:
        for i, (cmd, _) in enumerate(cmds):
            with open(logs / f"server-{i}.log", "wb") as out:
                procs.append(subprocess.Popen(
                    cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT,
                ))
        for i, (proc, (_, port)) in enumerate(zip(procs, cmds, strict=True)):
            _wait_listening(proc, port, logs / f"server-{i}.log", timeout=20)
        serving = True
        yield Running([f"{HOST}:{port}" for _, port in cmds], procs, python)
    finally:
        for i, proc in enumerate(procs):
            if serving and proc.poll() is not None:  # died under test; the log goes with tmp
                log = _tail(logs / f"server-{i}.log")
                print(f"{_cmd_name(proc)} exited with {proc.returncode}:\n{log}", file=sys.stderr)
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def etcd(tmp: Path, members: int) -> contextlib.AbstractContextManager[Running]:
    """A real etcd: one member, or a cluster of `members` on loopback."""
    names = [f"m{i}" for i in range(members)]
    peers = {n: free_port() for n in names}
    cluster = ",".join(f"{n}=http://{HOST}:{p}" for n, p in peers.items())
    cmds = []
    for n in names:
        client = free_port()
        cmds.append(([
            "etcd",
            f"--name={n}",
            f"--data-dir={tmp / n}",
            f"--listen-client-urls=http://{HOST}:{client}",
            f"--advertise-client-urls=http://{HOST}:{client}",
            f"--listen-peer-urls=http://{HOST}:{peers[n]}",
            f"--initial-advertise-peer-urls=http://{HOST}:{peers[n]}",
            f"--initial-cluster={cluster}",
            "--initial-cluster-state=new",
            f"--initial-cluster-token=bench-{tmp.name}",
            "--logger=zap",
            "--log-level=warn",
        ], client))
    return _processes(cmds, tmp)


def echo(tmp: Path) -> contextlib.AbstractContextManager[Running]:
    """The canned-reply gRPC server from bench/echo_server.py."""
    port = free_port()
    cmd = [sys.executable, "-m", "bench.echo_server", f"--address={HOST}:{port}"]
    return _processes([(cmd, port)], tmp, python=True)


def kvcore(
    tmp: Path,
    engine: str,
    members: int = 1,
    src: Path = ROOT,
    peer_transport: str = "tcp",
    client_transport: str = "h2",
) -> contextlib.AbstractContextManager[Running]:
    """kvcore (`python -m kvcore serve`) with the given engine: one node, or a cluster
    of `members` on loopback whose members talk over `peer_transport`, serving clients
    over `client_transport`; its code from the checkout `src` (default: this one; one
    older than kvcore_tcp needs grpc for both)."""
    names = [f"m{i}" for i in range(members)]
    peers = {n: f"http://{HOST}:{free_port()}" for n in names}
    cmds = []
    for n in names:
        port = free_port()
        config = {
            "name": n,
            "data_dir": str(tmp / n),
            "cluster_token": f"bench-{tmp.name}",
            "engine": {"name": engine, "options": {}},
            "client_listeners": [{"transport": client_transport, "address": f"{HOST}:{port}"}],
            "limits": {"max_request_bytes": 1572864, "max_txn_ops": 128},
        }
        if members > 1:
            config |= {
                "initial_cluster": peers,
                "peer_urls": peers[n],
                "peer_listener": {
                    "transport": peer_transport,
                    "address": peers[n].split("//")[1],
                },
            }
        path = tmp / f"kvcore-{n}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        cmds.append(([sys.executable, "-m", "kvcore", "serve", "--config", str(path)], port))
    env = None
    if src != ROOT:  # another checkout's code first on the path, this venv's packages
        paths = [str(src), str(src / "engines"), str(src / "plugins")]
        env = os.environ | {"PYTHONPATH": os.pathsep.join(paths)}
    return _processes(cmds, tmp, python=True, cwd=src, env=env)
