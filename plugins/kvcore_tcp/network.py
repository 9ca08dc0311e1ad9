"""The tcp peer network: a listener for peers plus one link per peer."""

from __future__ import annotations

from collections.abc import Mapping

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.peer.roster import Roster
from kvcore.raft.messages import Message, MessageType
from kvcore.tls import TlsOptions, client_context, server_context
from kvcore.transport import PeerHandler

from .link import PeerLink
from .listener import PeerListener


class TcpPeerNetwork:
    """kvcore's :class:`kvcore.transport.PeerNetwork` over plain TCP connections (TLS
    given ``tls``), in the frames of ``kvcore_tcp.wire``."""

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
        self._client_context = client_context(tls) if tls else None
        self._local_id = local_id
        self._cluster_id = cluster_id
        self._handler = handler
        self._listener: PeerListener | None = None
        self._roster: Roster[PeerLink] = Roster(local_id, self._new_link)

    async def start(self) -> None:
        context = server_context(self._tls) if self._tls else None
        listener = PeerListener(
            self.address, self._local_id, self._cluster_id, self._handler, context
        )
        await listener.start()
        self._listener = listener

    async def stop(self, grace: float) -> None:
        # Nothing in flight is worth waiting for: raft retransmits, so grace is unused.
        await self._roster.stop()
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    def set_peers(self, peers: Mapping[int, list[str]]) -> None:
        self._roster.reconcile(peers)

    def _new_link(self, peer_id: int, address: str) -> PeerLink:
        return PeerLink(
            peer_id,
            address,
            self._local_id,
            self._cluster_id,
            self._handler,
            self._client_context,
        )

    def active_since(self, peer_id: int) -> float | None:
        link = self._roster.links.get(peer_id)
        return None if link is None else link.stream.up_since

    def send(self, messages: list[Message]) -> None:
        links = self._roster.links
        touched: dict[int, PeerLink] = {}
        for message in messages:
            link = links.get(message.to)
            if message.type == MessageType.SNAP:
                if link is None:
                    self._handler.report_snapshot(message.to, False)
                else:
                    link.send_snapshot(message)
            elif link is None:
                self._handler.report_unreachable(message.to)
            else:
                link.stream.send(message)
                touched[message.to] = link
        for link in touched.values():  # one frame per peer per batch, written now
            link.stream.flush()

    async def lease_renew(self, peer_id: int, lease_id: int, timeout: float) -> int:
        return await self._roster.get(peer_id).calls.lease_renew(lease_id, timeout)

    async def lease_time_to_live(
        self, peer_id: int, request: pb.LeaseTimeToLiveRequest, timeout: float
    ) -> pb.LeaseTimeToLiveResponse:
        return await self._roster.get(peer_id).calls.lease_time_to_live(request, timeout)

    async def member_promote(
        self, peer_id: int, request: pb.MemberPromoteRequest, timeout: float
    ) -> pb.MemberPromoteResponse:
        return await self._roster.get(peer_id).calls.member_promote(request, timeout)
