"""Peer networks on loopback for the transport tests, with handlers that record.

Every peer transport passes the same tests: ``PEER_TRANSPORTS`` names them, and the
``transport`` fixture (conftest.py) runs each test once per transport.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvloop
from kvcore_grpc import GrpcTransport
from kvcore_tcp import TcpTransport
from support.ports import HOST, free_ports

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.raft.messages import Message, MessageType
from kvcore.raft.types import ConfState, Snapshot, SnapshotMetadata
from kvcore.transport import PeerNetwork, PeerTransport

CLUSTER_ID = 0xC1
PEER_TRANSPORTS: dict[str, PeerTransport] = {"grpc": GrpcTransport(), "tcp": TcpTransport()}
# Every test finishes in seconds; this only turns a hang into a failure.
TEST_TIMEOUT = 20.0


@dataclass
class RecordingHandler:
    members_blob: bytes = b"members"
    received: list[Message] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)
    snapshots: list[tuple[int, bool]] = field(default_factory=list)
    leases: dict[int, int] = field(default_factory=dict)  # lease id -> TTL, as a leader
    leading: bool = True

    def receive(self, message: Message) -> None:
        self.received.append(message)

    def report_unreachable(self, peer_id: int) -> None:
        self.unreachable.append(peer_id)

    def report_snapshot(self, peer_id: int, ok: bool) -> None:
        self.snapshots.append((peer_id, ok))

    def members(self) -> bytes:
        return self.members_blob

    async def lease_renew(self, lease_id: int) -> int:
        if not self.leading:
            raise errors.NOT_LEADER
        if lease_id not in self.leases:
            raise errors.LEASE_NOT_FOUND
        return self.leases[lease_id]

    async def lease_time_to_live(
        self, request: pb.LeaseTimeToLiveRequest
    ) -> pb.LeaseTimeToLiveResponse:
        if not self.leading:
            raise errors.NOT_LEADER
        ttl = self.leases.get(request.ID)
        if ttl is None:
            return pb.LeaseTimeToLiveResponse(ID=request.ID, TTL=-1)
        keys = [b"key-of-%d" % request.ID] if request.keys else []
        return pb.LeaseTimeToLiveResponse(ID=request.ID, TTL=ttl, grantedTTL=ttl, keys=keys)

    async def member_promote(self, request: pb.MemberPromoteRequest) -> pb.MemberPromoteResponse:
        if not self.leading:
            raise errors.NOT_LEADER
        if request.ID != 7:
            raise errors.MEMBER_NOT_FOUND
        return pb.MemberPromoteResponse(members=[pb.Member(ID=7, name="promoted")])


@dataclass
class Member:
    id: int
    address: str
    handler: RecordingHandler
    network: PeerNetwork

    @property
    def url(self) -> str:
        return f"http://{self.address}"


def new_member(
    transport: PeerTransport,
    member_id: int,
    port: int,
    cluster_id: int = CLUSTER_ID,
    options: Any = None,
) -> Member:
    """A member on ``transport`` (with its default options unless given)."""
    address = f"{HOST}:{port}"
    handler = RecordingHandler()
    if options is None:
        options = transport.options_model()
    network = transport.peer_network(address, member_id, cluster_id, handler, options)
    return Member(member_id, address, handler, network)


@asynccontextmanager
async def members(
    transport: PeerTransport,
    count: int,
    *,
    cluster_ids: list[int] | None = None,
    started: int | None = None,
    options: Any = None,
) -> AsyncIterator[list[Member]]:
    """``count`` members (ids 1..count) on ``transport`` that know each other; the
    first ``started`` (default all) are listening. All are stopped on the way out."""
    ids = cluster_ids or [CLUSTER_ID] * count
    group = [
        new_member(transport, i + 1, port, ids[i], options)
        for i, port in enumerate(free_ports(count))
    ]
    try:
        for m in group[:started]:
            await m.network.start()
        peers = {m.id: [m.url] for m in group}
        for m in group:
            m.network.set_peers(peers)
        yield group
    finally:
        for m in group:
            await m.network.stop(0)


def message(to: int, frm: int, index: int, kind: MessageType = MessageType.HEARTBEAT) -> Message:
    return Message(type=kind, to=to, frm=frm, term=3, index=index, commit=index)


def snapshot_message(to: int, frm: int, size: int) -> Message:
    """A SNAP message with ``size`` bytes of data (the same bytes for the same size)."""
    meta = SnapshotMetadata(index=42, term=3, conf_state=ConfState(voters=[1, 2, 3]))
    data = random.Random(size).randbytes(size)
    return Message(type=MessageType.SNAP, to=to, frm=frm, term=3, snapshot=Snapshot(meta, data))


async def eventually(
    condition: Callable[[], Any], timeout: float = 5.0, each: Callable[[], None] | None = None
) -> None:
    """Poll ``condition`` every 10 ms (calling ``each`` before every poll) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if each is not None:
            each()
        if condition():
            return
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.01)


def run_async(
    test: Callable[..., Awaitable[None]], *, loop_factory: Callable[[], Any] | None = None
) -> Callable[..., None]:
    """Runs an async test on a fresh loop, and checks it left no task behind. The loop
    is uvloop's, as a node's (``kvcore.cli``), unless ``loop_factory`` says otherwise."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        async def body() -> None:
            await asyncio.wait_for(test(*args, **kwargs), TEST_TIMEOUT)
            await asyncio.sleep(0)  # let cancelled tasks finish
            left = asyncio.all_tasks() - {asyncio.current_task()}
            assert not left, f"tasks left running: {left}"

        with asyncio.Runner(loop_factory=loop_factory or uvloop.new_event_loop) as runner:
            runner.run(body())

    return run
