"""The tcp transport: raft traffic between members only; clients use grpc or http."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from kvcore.tls import TlsOptions, client_context
from kvcore.transport import PeerHandler

from .members import fetch_members
from .network import TcpPeerNetwork


class TcpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tls: TlsOptions | None = None


class TcpTransport:
    """A :class:`kvcore.transport.PeerTransport`, and not a client one: it has no
    ``client_server``, so a config naming it among the client listeners is refused."""

    name = "tcp"
    options_model = TcpOptions

    def peer_network(
        self,
        address: str,
        local_id: int,
        cluster_id: int,
        handler: PeerHandler,
        options: TcpOptions,
    ) -> TcpPeerNetwork:
        return TcpPeerNetwork(address, local_id, cluster_id, handler, options.tls)

    async def fetch_members(
        self, peer_urls: list[str], timeout: float, options: TcpOptions
    ) -> bytes:
        context = client_context(options.tls) if options.tls else None
        return await fetch_members(peer_urls, timeout, context)
