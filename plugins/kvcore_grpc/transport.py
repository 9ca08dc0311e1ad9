"""The gRPC listener: a grpc.aio server serving kvcore's handlers."""

from __future__ import annotations

import logging

import grpc
from pydantic import BaseModel, ConfigDict, Field

from kvcore.api.etcdserverpb import rpc_pb2
from kvcore.api.v3electionpb import v3election_pb2
from kvcore.api.v3lockpb import v3lock_pb2
from kvcore.tls import TlsOptions
from kvcore.transport import GRPC_OVERHEAD_BYTES, PeerHandler, Services

from .binding import bind_and_start
from .peer_members import fetch_members
from .peer_network import GrpcPeerNetwork
from .services import generic_handlers
from .tls import channel_credentials, server_credentials

log = logging.getLogger(__name__)

# Every etcd API file kvcore serves services from.
API_FILES = (rpc_pb2.DESCRIPTOR, v3lock_pb2.DESCRIPTOR, v3election_pb2.DESCRIPTOR)


class GrpcOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_concurrent_streams: int = Field(default=2**31 - 1, gt=0)
    keepalive_time_s: float = Field(default=7200.0, gt=0)
    tls: TlsOptions | None = None


class GrpcTransport:
    name = "grpc"
    options_model = GrpcOptions

    def client_server(
        self, address: str, services: Services, options: GrpcOptions, max_request_bytes: int
    ) -> GrpcServer:
        return GrpcServer(address, services, options, max_request_bytes)

    def peer_network(
        self,
        address: str,
        local_id: int,
        cluster_id: int,
        handler: PeerHandler,
        options: GrpcOptions,
    ) -> GrpcPeerNetwork:
        return GrpcPeerNetwork(address, local_id, cluster_id, handler, options.tls)

    async def fetch_members(
        self, peer_urls: list[str], timeout: float, options: GrpcOptions
    ) -> bytes:
        credentials = channel_credentials(options.tls) if options.tls else None
        return await fetch_members(peer_urls, timeout, credentials)


class GrpcServer:
    def __init__(
        self, address: str, services: Services, options: GrpcOptions, max_request_bytes: int
    ) -> None:
        self.address = address
        self._max_recv = max_request_bytes + GRPC_OVERHEAD_BYTES
        self._services = services
        self._options = options
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        opts = self._options
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", self._max_recv),
                ("grpc.max_send_message_length", 2**31 - 1),
                ("grpc.max_concurrent_streams", opts.max_concurrent_streams),
                ("grpc.keepalive_time_ms", int(opts.keepalive_time_s * 1000)),
                ("grpc.so_reuseport", 0),
            ]
        )
        server.add_generic_rpc_handlers(generic_handlers(API_FILES, self._services))
        credentials = server_credentials(opts.tls) if opts.tls else None
        await bind_and_start(server, self.address, "clients", credentials)
        self._server = server

    async def stop(self, grace: float) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
