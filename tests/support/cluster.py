"""Clusters of real members on loopback, kvcore or etcd, for whole-cluster tests.

A :class:`Cluster` starts its members side by side and waits until every live member
names the same leader. Members keep their data directories across ``stop``, ``kill9``
and ``start``; a kvcore member that joins a running cluster (after ``etcdctl member
add``) is made with :meth:`KvcoreCluster.joiner`. Every process goes through the
session's :class:`Supervisor`; ``stop_all`` ends them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from kvcore.api.etcdserverpb import rpc_pb2

from .etcdctl import Etcdctl
from .ports import HOST, free_ports
from .process import POLL_SECONDS, Supervisor
from .rawclient import RpcFailure
from .servers import EtcdServer, KvcoreServer, Server

# Short raft timings for 2 shared cores; kvcore requires election >= 5 x heartbeat.
HEARTBEAT_MS = 50
ELECTION_MS = 500
TEST_RAFT = {"heartbeat_interval_ms": HEARTBEAT_MS, "election_timeout_ms": ELECTION_MS}
LEADER_SECONDS = 20.0
CONVERGE_SECONDS = 20.0
STATUS_TIMEOUT = 1.0

T = TypeVar("T")


def poll(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Call ``probe`` until it returns something other than None; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(POLL_SECONDS)


def peer_url(port: int) -> str:
    return f"http://{HOST}:{port}"


class KvcoreMember(KvcoreServer):
    """A kvcore cluster member. Ready once it answers a serializable read: a learner
    answers no other kind, and a member restarted without quorum must still start."""

    def __init__(
        self,
        supervisor: Supervisor,
        workdir: Path,
        name: str,
        peer_port: int,
        initial_cluster: dict[str, str],
        state: str,
        peer_transport: str = "tcp",
        **config: Any,
    ) -> None:
        self.name = name
        self.peer_url = peer_url(peer_port)
        super().__init__(
            supervisor,
            workdir,
            name=name,
            cluster_token="kvcore-cluster-test",
            cluster_state=state,
            initial_cluster=initial_cluster,
            peer_urls=self.peer_url,
            peer_listener={"transport": peer_transport, "address": f"{HOST}:{peer_port}"},
            raft=TEST_RAFT,
            **config,
        )

    def _serves(self) -> bool:
        with self.client() as client:
            request = rpc_pb2.RangeRequest(key=b"health", serializable=True)
            return not isinstance(client.call("Range", request, timeout=1.0), RpcFailure)


class EtcdMember(EtcdServer):
    """A real etcd member of a cluster whose --initial-cluster is shared by all."""

    heartbeat_ms = HEARTBEAT_MS
    election_ms = ELECTION_MS

    def __init__(self, supervisor: Supervisor, workdir: Path, peers: dict[str, str]) -> None:
        super().__init__(supervisor, workdir)
        self._peers = peers
        peers[self.name] = self.peer_url

    def initial_cluster(self) -> str:
        return ",".join(f"{name}={url}" for name, url in self._peers.items())


Member = KvcoreMember | EtcdMember


class Cluster:
    """Members by name; ``live`` are those whose process runs and is not paused."""

    def __init__(self, members: Iterable[Member]) -> None:
        self.members: dict[str, Member] = {m.name: m for m in members}
        self._ids: dict[str, int] = {}

    def __getitem__(self, name: str) -> Member:
        return self.members[name]

    def live(self) -> list[Member]:
        return [
            m
            for m in self.members.values()
            if m.process is not None and m.process.alive and not m.process.paused
        ]

    def endpoints(self, members: Iterable[Member] | None = None) -> list[str]:
        return [m.endpoint for m in (self.live() if members is None else members)]

    def etcdctl(self, members: Iterable[Member] | None = None) -> Etcdctl:
        """etcdctl against every live member (or ``members``) at once."""
        return Etcdctl(",".join(self.endpoints(members)))

    def start(self) -> Cluster:
        self.start_members(list(self.members.values()))
        self.wait_published()
        return self

    def spawn_all(self) -> None:
        """Launch every member now; a later ``start`` waits for them (clusters boot side
        by side)."""
        for member in self.members.values():
            member.spawn()

    def wait_published(self, timeout: float = LEADER_SECONDS) -> None:
        """Until there is a leader and the member list shows every live member's client
        URL (a member publishes it through raft once a leader is known)."""
        poll("every live member's client URL in the member list", self._published, timeout)

    def _published(self) -> bool | None:
        leader = self._agreed_leader()
        if leader is None:
            return None
        with leader.client() as client:
            listed = client.call("MemberList", rpc_pb2.MemberListRequest(), STATUS_TIMEOUT)
        if isinstance(listed, RpcFailure):
            return None
        urls = {url for m in listed.members for url in m.clientURLs}  # type: ignore[attr-defined]
        return all(f"http://{m.endpoint}" in urls for m in self.live()) or None

    def start_members(self, members: list[Member]) -> None:
        """Launch ``members`` side by side (none may wait for a quorum of others)."""
        for member in members:
            if member.process is None or not member.process.alive:
                member.spawn()
        for member in members:
            member.wait_ready()

    def stop_all(self) -> None:
        for member in self.members.values():
            member.terminate()
        for member in self.members.values():
            member.stop()

    def kill9_all(self) -> None:
        for member in self.live():
            member.kill9()

    def status(self, member: Member) -> rpc_pb2.StatusResponse | None:
        with member.client() as client:
            outcome = client.call("Status", rpc_pb2.StatusRequest(), timeout=STATUS_TIMEOUT)
        return None if isinstance(outcome, RpcFailure) else outcome  # type: ignore[return-value]

    def member_id(self, member: Member) -> int:
        name = member.name
        if name not in self._ids:
            self._ids[name] = poll(
                f"{name}'s member id", lambda: self._header_id(member), LEADER_SECONDS
            )
        return self._ids[name]

    def _header_id(self, member: Member) -> int | None:
        status = self.status(member)
        return None if status is None else status.header.member_id

    def by_id(self, member_id: int) -> Member:
        return next(m for m in self.members.values() if self.member_id(m) == member_id)

    def wait_leader(self, timeout: float = LEADER_SECONDS) -> Member:
        """The leader, once every live voter names the same live member in one term.
        On a timeout, the error says what each live member reported, with its log tail."""
        try:
            return poll("one leader named by every live member", self._agreed_leader, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self._views()}") from None

    def _views(self) -> str:
        lines = []
        for member in self.live():
            status = self.status(member)
            view = (
                "no Status answer" if status is None
                else f"leader {status.leader:x} term {status.raftTerm}"
            )
            assert member.process is not None
            lines.append(member.process.describe(f"{member.name}: {view}"))
        return "\n".join(lines)

    def _agreed_leader(self) -> Member | None:
        statuses = [self.status(m) for m in self.live()]
        if any(s is None for s in statuses):
            return None
        voters = [s for s in statuses if s is not None and not s.isLearner]
        views = {(s.leader, s.raftTerm) for s in voters}
        if len(views) != 1:
            return None
        leader_id = views.pop()[0]
        live_ids = {s.header.member_id for s in voters}
        return self.by_id(leader_id) if leader_id in live_ids else None

    def wait_converged(
        self, members: list[Member] | None = None, timeout: float = CONVERGE_SECONDS
    ) -> int:
        """The revision, once ``members`` (default: live) all report the same one to a
        serializable read, which a linearizable read on the leader does not exceed."""
        members = self.live() if members is None else members
        return poll("members to agree on the revision", lambda: self._same(members), timeout)

    def _same(self, members: list[Member]) -> int | None:
        revisions = {serializable_revision(m) for m in members}
        if len(revisions) != 1 or None in revisions:
            return None
        revision = revisions.pop()
        leader = self._agreed_leader()
        if leader is None:
            return None
        return revision if read_revision(leader, serializable=False) == revision else None


def read_revision(member: Server, serializable: bool) -> int | None:
    """The store revision ``member`` reports to a one-key read; None if the read fails."""
    request = rpc_pb2.RangeRequest(key=b"\0", count_only=True, serializable=serializable)
    with member.client() as client:
        outcome = client.call("Range", request, timeout=STATUS_TIMEOUT)
    return None if isinstance(outcome, RpcFailure) else outcome.header.revision  # type: ignore[union-attr]


def serializable_revision(member: Server) -> int | None:
    return read_revision(member, serializable=True)


class KvcoreCluster(Cluster):
    """``config`` applies to every member; ``per_member`` (name -> config) adds to it.
    Members talk over ``peer_transport`` (tcp, or grpc)."""

    def __init__(
        self,
        supervisor: Supervisor,
        root: Path,
        size: int = 3,
        per_member: dict[str, dict[str, Any]] | None = None,
        peer_transport: str = "tcp",
        **config: Any,
    ) -> None:
        self._supervisor = supervisor
        self._root = root
        self.peer_transport = peer_transport
        self._config = config
        self._per_member = per_member or {}
        names = [f"n{i}" for i in range(1, size + 1)]
        ports = free_ports(size)
        self.initial = {name: peer_url(port) for name, port in zip(names, ports, strict=True)}
        super().__init__(
            self._member(name, port, self.initial, "new")
            for name, port in zip(names, ports, strict=True)
        )

    def joiner(self, name: str, peer_port: int, initial_cluster: dict[str, str]) -> KvcoreMember:
        """A member that joins this running cluster (``cluster_state: existing``)."""
        member = self._member(name, peer_port, initial_cluster, "existing")
        self.members[name] = member
        return member

    def _member(self, name: str, port: int, initial: dict[str, str], state: str) -> KvcoreMember:
        workdir = self._root / name
        workdir.mkdir(parents=True)
        config = self._config | self._per_member.get(name, {})
        return KvcoreMember(
            self._supervisor, workdir, name, port, initial, state, self.peer_transport, **config
        )


class EtcdCluster(Cluster):
    def __init__(self, supervisor: Supervisor, root: Path, size: int = 3) -> None:
        peers: dict[str, str] = {}
        members = []
        for i in range(1, size + 1):
            workdir = root / f"n{i}"
            workdir.mkdir(parents=True)
            members.append(EtcdMember(supervisor, workdir, peers))
        super().__init__(members)
