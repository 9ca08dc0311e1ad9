"""The receiving side of the peer network: the ``kvcorepb.Peer`` gRPC service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc

from kvcore.api.etcdserverpb.rpc_pb2 import LeaseTimeToLiveRequest, MemberPromoteRequest
from kvcore.api.kvcorepb.peer_pb2 import (
    LeaseRenewRequest,
    LeaseRenewResponse,
    LeaseTimeToLiveAnswer,
    LeaseTimeToLiveForward,
    MemberPromoteAnswer,
    MemberPromoteForward,
    MembersRequest,
    MembersResponse,
    PeerMessage,
    SnapshotAck,
    SnapshotChunk,
    StreamAck,
)
from kvcore.api.kvcorepb.peer_pb2_grpc import PeerServicer
from kvcore.errors import EtcdError
from kvcore.peer.log import Refusals
from kvcore.peer.snapshot import SnapshotAssembly
from kvcore.raft.codec import CodecError, decode_message
from kvcore.raft.messages import Message
from kvcore.transport import PeerHandler

from .peer_snapshot import start_assembly
from .peer_wire import ACCEPTED_KEY

log = logging.getLogger(__name__)


class PeerService(PeerServicer):
    """Hands the raft messages of members of cluster ``cluster_id`` to ``handler``."""

    def __init__(self, local_id: int, cluster_id: int, handler: PeerHandler) -> None:
        self._local_id = local_id
        self._cluster_id = cluster_id
        self._handler = handler
        self._streams: set[asyncio.Task] = set()
        self._closing = False
        self._refusals = Refusals(log)

    def close(self) -> None:
        """End the incoming streams: they never end by themselves, and would hold the
        server's stop for its whole grace period."""
        self._closing = True
        for task in self._streams:
            task.cancel()

    async def Stream(
        self, request_iterator: AsyncIterator[PeerMessage], context: grpc.aio.ServicerContext
    ) -> StreamAck:
        task = asyncio.current_task()
        assert task is not None  # grpc runs each call in a task
        self._streams.add(task)
        try:
            accepted = False
            async for request in request_iterator:
                await self._check_cluster(request.cluster_id, getattr(request, "from"), context)
                if not accepted:
                    # The sender waits for this before it counts the peer as up.
                    await context.send_initial_metadata(((ACCEPTED_KEY, "1"),))
                    accepted = True
                for raw in request.messages:
                    try:
                        message = decode_message(raw)
                    except CodecError as exc:
                        await self._refuse(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
                    await self._deliver(message, context)
        except asyncio.CancelledError:
            if not self._closing:
                raise
            # grpc leaves a call whose handler was cancelled open until the grace period
            # ends; a handler that returns ends it now.
        finally:
            self._streams.discard(task)
        return StreamAck()

    async def Snapshot(
        self, request_iterator: AsyncIterator[SnapshotChunk], context: grpc.aio.ServicerContext
    ) -> SnapshotAck:
        assembly: SnapshotAssembly | None = None
        try:
            async for chunk in request_iterator:
                if assembly is None:
                    await self._check_cluster(chunk.cluster_id, getattr(chunk, "from"), context)
                    assembly = start_assembly(chunk)
                else:
                    assembly.add(chunk.data)
            if assembly is None:
                raise ValueError("empty snapshot stream")
            message = assembly.finish()
        except ValueError as exc:
            await self._refuse(context, grpc.StatusCode.INVALID_ARGUMENT, f"snapshot: {exc}")
        await self._deliver(message, context)
        return SnapshotAck(ok=True)

    async def Members(
        self, request: MembersRequest, context: grpc.aio.ServicerContext
    ) -> MembersResponse:
        return MembersResponse(members=self._handler.members())

    async def LeaseRenew(
        self, request: LeaseRenewRequest, context: grpc.aio.ServicerContext
    ) -> LeaseRenewResponse:
        await self._check_cluster(request.cluster_id, getattr(request, "from"), context)
        try:
            return LeaseRenewResponse(ttl=await self._handler.lease_renew(request.id))
        except EtcdError as exc:
            await _abort_etcd(context, exc)

    async def LeaseTimeToLive(
        self, request: LeaseTimeToLiveForward, context: grpc.aio.ServicerContext
    ) -> LeaseTimeToLiveAnswer:
        answer = await self._forwarded(
            request, context, LeaseTimeToLiveRequest.FromString, self._handler.lease_time_to_live
        )
        return LeaseTimeToLiveAnswer(response=answer)

    async def MemberPromote(
        self, request: MemberPromoteForward, context: grpc.aio.ServicerContext
    ) -> MemberPromoteAnswer:
        answer = await self._forwarded(
            request, context, MemberPromoteRequest.FromString, self._handler.member_promote
        )
        return MemberPromoteAnswer(response=answer)

    async def _forwarded(
        self,
        request: LeaseTimeToLiveForward | MemberPromoteForward,
        context: grpc.aio.ServicerContext,
        parse: Callable[[bytes], Any],
        answer: Callable[[Any], Awaitable[Any]],
    ) -> bytes:
        """A forwarded call's answer, serialized: an etcd API request carried as bytes,
        answered by the handler, whose etcd error fails the call as itself."""
        await self._check_cluster(request.cluster_id, getattr(request, "from"), context)
        try:
            return (await answer(parse(request.request))).SerializeToString()
        except EtcdError as exc:
            await _abort_etcd(context, exc)

    async def _check_cluster(
        self, cluster_id: int, sender: int, context: grpc.aio.ServicerContext
    ) -> None:
        if cluster_id != self._cluster_id:
            await self._refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"member {sender:x} is in cluster {cluster_id:x}, "
                f"member {self._local_id:x} in cluster {self._cluster_id:x}",
            )

    async def _deliver(self, message: Message, context: grpc.aio.ServicerContext) -> None:
        # A peer URL that now belongs to another member would misroute raft traffic.
        if message.to != self._local_id:
            await self._refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"message for member {message.to:x} reached member {self._local_id:x}",
            )
        self._handler.receive(message)

    async def _refuse(
        self, context: grpc.aio.ServicerContext, code: grpc.StatusCode, why: str
    ) -> NoReturn:
        self._refusals.log(context.peer(), why)
        await context.abort(code, why)


async def _abort_etcd(context: grpc.aio.ServicerContext, exc: EtcdError) -> NoReturn:
    """Fail a forwarded call with the handler's etcd error, which the caller's side
    (``peer_network``) turns back into the same EtcdError."""
    await context.abort(grpc.StatusCode[exc.code.name], exc.message)
