"""The gRPC peer network: a listener for peers plus one sender per peer."""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.kvcorepb.peer_pb2 import (
    LeaseRenewRequest,
    LeaseTimeToLiveForward,
    MemberPromoteForward,
)
from kvcore.api.kvcorepb.peer_pb2_grpc import PeerStub, add_PeerServicer_to_server
from kvcore.peer.roster import Roster
from kvcore.raft.messages import Message, MessageType
from kvcore.tls import TlsOptions
from kvcore.transport import PeerHandler

from .binding import bind_and_start
from .peer_sender import PeerSender
from .peer_service import PeerService
from .peer_wire import SERVER_OPTIONS
from .tls import channel_credentials, server_credentials


class GrpcPeerNetwork:
    """kvcore's :class:`kvcore.transport.PeerNetwork` over gRPC (see ``peer.proto``).

    Its own grpc.aio server on ``address``, apart from the client listener, so that
    client load and peer traffic do not share a server's limits.
    """

    def __init__(
        self,
        address: str,
        local_id: int,
        cluster_id: int,
        handler: PeerHandler,
        tls: TlsOptions | None = None,
    ) -> None:
        self.address = address
        self._tls = tls
        # Read once: a member's certificate files are not reread for each peer.
        self._credentials = channel_credentials(tls) if tls else None
        self._local_id = local_id
        self._cluster_id = cluster_id
        self._handler = handler
        self._service: PeerService | None = None
        self._server: grpc.aio.Server | None = None
        self._roster: Roster[PeerSender] = Roster(local_id, self._new_sender)

    async def start(self) -> None:
        server = grpc.aio.server(options=SERVER_OPTIONS)
        service = PeerService(self._local_id, self._cluster_id, self._handler)
        add_PeerServicer_to_server(service, server)
        credentials = server_credentials(self._tls) if self._tls else None
        await bind_and_start(server, self.address, "peers", credentials)
        self._server, self._service = server, service

    async def stop(self, grace: float) -> None:
        await self._roster.stop()
        if self._server is not None and self._service is not None:
            self._service.close()
            await self._server.stop(grace)
            self._server = self._service = None

    def set_peers(self, peers: Mapping[int, list[str]]) -> None:
        self._roster.reconcile(peers)

    def _new_sender(self, peer_id: int, address: str) -> PeerSender:
        return PeerSender(
            peer_id,
            address,
            self._local_id,
            self._cluster_id,
            self._handler,
            self._credentials,
        )

    def active_since(self, peer_id: int) -> float | None:
        sender = self._roster.links.get(peer_id)
        return None if sender is None else sender.up_since

    def send(self, messages: list[Message]) -> None:
        for message in messages:
            sender = self._roster.links.get(message.to)
            if sender is not None:
                sender.send(message)
            elif message.type == MessageType.SNAP:
                self._handler.report_snapshot(message.to, False)
            else:
                self._handler.report_unreachable(message.to)

    async def lease_renew(self, peer_id: int, lease_id: int, timeout: float) -> int:
        request = LeaseRenewRequest(id=lease_id, **self._sender_fields())
        return (await _answer(self._stub(peer_id).LeaseRenew(request, timeout=timeout))).ttl

    async def lease_time_to_live(
        self, peer_id: int, request: pb.LeaseTimeToLiveRequest, timeout: float
    ) -> pb.LeaseTimeToLiveResponse:
        forward = LeaseTimeToLiveForward(
            request=request.SerializeToString(), **self._sender_fields()
        )
        answer = await _answer(self._stub(peer_id).LeaseTimeToLive(forward, timeout=timeout))
        return pb.LeaseTimeToLiveResponse.FromString(answer.response)

    async def member_promote(
        self, peer_id: int, request: pb.MemberPromoteRequest, timeout: float
    ) -> pb.MemberPromoteResponse:
        forward = MemberPromoteForward(request=request.SerializeToString(), **self._sender_fields())
        answer = await _answer(self._stub(peer_id).MemberPromote(forward, timeout=timeout))
        return pb.MemberPromoteResponse.FromString(answer.response)

    def _sender_fields(self) -> dict[str, int]:
        return {"cluster_id": self._cluster_id, "from": self._local_id}

    def _stub(self, peer_id: int) -> PeerStub:
        return self._roster.get(peer_id).stub


async def _answer(call):
    """A peer call's response; the peer's etcd error raised as such, any other failure
    as OSError (see ``PeerNetwork.lease_renew``)."""
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        details = exc.details() or ""
        if details.startswith("etcdserver: "):
            raise errors.EtcdError(errors.Code[exc.code().name], details) from None
        raise OSError(f"{exc.code().name}: {details}") from None
