"""The receiving side of each connection kind, once its HELLO is read: raft messages and
snapshots handed to the node's PeerHandler, calls answered from it."""

from __future__ import annotations

import asyncio
import logging
import struct

from google.protobuf.message import DecodeError

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.errors import Code, EtcdError
from kvcore.peer.log import Refusals
from kvcore.peer.snapshot import SnapshotAssembly, SnapshotHead
from kvcore.raft.codec import CodecError, decode_message
from kvcore.raft.messages import Message
from kvcore.transport import PeerHandler

from .connection import Connection, Session
from .wire import (
    LEASE_ID,
    TTL,
    Conn,
    Frame,
    Hello,
    Method,
    Outcome,
    ProtocolError,
    Refused,
    answer,
    frame,
    frame_name,
    read_request,
    read_snap_head,
    split_messages,
)

log = logging.getLogger(__name__)


class Receiver:
    """Opens the session each connection's HELLO asks for, for member ``local_id`` of
    cluster ``cluster_id``; refuses (raises Refused) a stream or snapshot from another
    cluster."""

    def __init__(
        self, local_id: int, cluster_id: int, handler: PeerHandler, refusals: Refusals
    ) -> None:
        self.local_id = local_id
        self.cluster_id = cluster_id
        self.handler = handler
        self.refusals = refusals

    def open_session(self, hello: Hello, connection: Connection) -> Session:
        session: Session
        if hello.conn == Conn.STREAM:
            self.check_cluster(hello)
            session = _Stream(self)
        elif hello.conn == Conn.SNAPSHOT:
            self.check_cluster(hello)
            session = _Snapshot(self, connection)
        else:
            # Whatever the cluster: a joining member asks for the members before it
            # knows the cluster's id. Lease calls check it, one by one.
            session = _Calls(self, hello, connection)
        connection.write(frame(Frame.ACCEPT))
        return session

    def check_cluster(self, hello: Hello) -> None:
        if hello.cluster_id != self.cluster_id:
            raise Refused(
                Code.FAILED_PRECONDITION,
                f"member {hello.sender_id:x} is in cluster {hello.cluster_id:x}, "
                f"member {self.local_id:x} in cluster {self.cluster_id:x}",
            )

    def misrouted(self, message: Message) -> Refused:
        """The refusal of a message for another member: a peer URL that now belongs to
        another member would misroute raft traffic."""
        return Refused(
            Code.FAILED_PRECONDITION,
            f"message for member {message.to:x} reached member {self.local_id:x}",
        )


class _Stream:
    """MESSAGES frames: every message decoded, checked and handed to the handler."""

    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self._local_id = receiver.local_id
        self._receive = receiver.handler.receive

    def frame(self, kind: int, payload: bytes) -> None:
        _expect(kind, Frame.MESSAGES)
        for raw in split_messages(payload):
            try:
                message = decode_message(raw)
            except CodecError as exc:
                raise Refused(Code.INVALID_ARGUMENT, str(exc)) from None
            if message.to != self._local_id:
                raise self._receiver.misrouted(message)
            self._receive(message)

    def close(self) -> list[asyncio.Task]:
        return []


class _Snapshot:
    """SNAP_HEAD, then SNAP_DATA until the announced size: one SNAP message, handed to
    the handler whole and acknowledged with SNAP_DONE."""

    def __init__(self, receiver: Receiver, connection: Connection) -> None:
        self._receiver = receiver
        self._connection = connection
        self._assembly: SnapshotAssembly | None = None

    def frame(self, kind: int, payload: bytes) -> None:
        try:
            if self._assembly is None:
                _expect(kind, Frame.SNAP_HEAD)
                total_size, head = read_snap_head(payload)
                self._assembly = SnapshotAssembly(SnapshotHead(head, total_size))
                if self._assembly.message.to != self._receiver.local_id:
                    raise self._receiver.misrouted(self._assembly.message)
            else:
                _expect(kind, Frame.SNAP_DATA)
                self._assembly.add(payload)
            if self._assembly.complete:
                message = self._assembly.finish()
                self._assembly = None
                self._receiver.handler.receive(message)
                self._connection.write(frame(Frame.SNAP_DONE))
        except (ProtocolError, Refused):
            raise
        except ValueError as exc:
            raise Refused(Code.INVALID_ARGUMENT, f"snapshot: {exc}") from None

    def close(self) -> list[asyncio.Task]:
        return []


class _Calls:
    """REQUEST frames, each answered by a task of its own (a lease call may wait for
    raft), in whatever order they finish."""

    def __init__(self, receiver: Receiver, hello: Hello, connection: Connection) -> None:
        self._receiver = receiver
        self._hello = hello
        self._connection = connection
        self._tasks: set[asyncio.Task] = set()

    def frame(self, kind: int, payload: bytes) -> None:
        _expect(kind, Frame.REQUEST)
        call_id, method, body = read_request(payload)
        task = asyncio.create_task(
            self._answer(call_id, method, body),
            name=f"kvcore-peer-call-{self._hello.sender_id:x}-{call_id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> list[asyncio.Task]:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        return tasks

    async def _answer(self, call_id: int, method: int, body: bytes) -> None:
        try:
            result = answer(call_id, Outcome.OK, Code.OK, await self._call(method, body))
        except EtcdError as exc:
            result = answer(call_id, Outcome.ETCD_ERROR, exc.code, exc.message.encode())
        except Refused as exc:
            self._receiver.refusals.log(self._connection.peer, exc.why)
            result = answer(call_id, Outcome.FAILED, exc.code, exc.why.encode())
        except Exception as exc:
            log.exception("peer %x: call %d failed", self._hello.sender_id, method)
            result = answer(call_id, Outcome.FAILED, Code.UNKNOWN, repr(exc).encode())
        self._connection.write(result)

    async def _call(self, method: int, body: bytes) -> bytes:
        handler = self._receiver.handler
        if method == Method.MEMBERS:
            return handler.members()
        self._receiver.check_cluster(self._hello)
        if method == Method.LEASE_RENEW:
            try:
                (lease_id,) = LEASE_ID.unpack(body)
            except struct.error:
                raise Refused(Code.INVALID_ARGUMENT, "lease renew: bad lease id") from None
            return TTL.pack(await handler.lease_renew(lease_id))
        forwarded = _FORWARDED.get(method)
        if forwarded is None:
            raise Refused(Code.UNIMPLEMENTED, f"unknown call {method}")
        request_cls, answer, what = forwarded
        try:
            asked = request_cls.FromString(body)
        except DecodeError as exc:
            raise Refused(Code.INVALID_ARGUMENT, f"{what}: {exc}") from None
        return (await getattr(handler, answer)(asked)).SerializeToString()


# Calls whose body and answer are etcd API messages: the request's class, the
# PeerHandler method that answers it, and what a refusal calls it.
_FORWARDED = {
    Method.LEASE_TIME_TO_LIVE: (
        pb.LeaseTimeToLiveRequest, "lease_time_to_live", "lease time-to-live"
    ),
    Method.MEMBER_PROMOTE: (pb.MemberPromoteRequest, "member_promote", "member promote"),
}


def _expect(kind: int, wanted: Frame) -> None:
    if kind != wanted:
        raise ProtocolError(f"a {frame_name(kind)} frame where {wanted.name} was due")
