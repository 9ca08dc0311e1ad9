"""The gRPC listener: a grpc.aio server serving kvcore's handlers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
from pydantic import BaseModel, ConfigDict, Field

from kvcore.rpc import API_FILES
from kvcore.tls import TlsOptions
from kvcore.transport import GRPC_OVERHEAD_BYTES, PeerHandler, Services

from .binding import bind_and_start, check_free, with_port
from .frontend import Frontend
from .peer_members import fetch_members
from .peer_network import GrpcPeerNetwork
from .services import generic_handlers, receive_ceiling
from .tls import channel_credentials, server_credentials

log = logging.getLogger(__name__)

class GrpcOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_concurrent_streams: int = Field(default=2**31 - 1, gt=0)
    keepalive_time_s: float = Field(default=7200.0, gt=0)
    tls: TlsOptions | None = None
    # grpc.aio servers sharing a client listener's address (SO_REUSEPORT). Each takes
    # in one new call per round trip through grpc's poller thread; several let more
    # calls in per loop turn, so that concurrent writes share larger batches (Put at
    # 256 in flight: +40 % with 4). The kernel hands each connection to one of them at
    # random, and only those that got one take calls: 16 leave fewer idle than 4 do
    # (+6-9 % more; nothing lost at 1 in flight or at start-up). The address is
    # checked free first.
    accept_loops: int = Field(default=16, ge=1, le=64)
    # Worker processes that serve the address instead (SO_REUSEPORT) and relay every
    # call to this one (kvcore_grpc.relay_worker): grpc's per-call work then runs
    # beside raft and apply rather than holding their GIL. 0: served in-process.
    # Puts at 256 in flight: ~1.5x with 2 workers; at 1 in flight ~10 % slower.
    frontend_processes: int = Field(default=0, ge=0, le=64)


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


def server_options(opts: GrpcOptions, max_receive: int, shared: bool) -> list[tuple[str, Any]]:
    """grpc.aio server options of a client listener (``shared``: SO_REUSEPORT)."""
    return [
        ("grpc.max_receive_message_length", max_receive),
        ("grpc.max_send_message_length", 2**31 - 1),
        ("grpc.max_concurrent_streams", opts.max_concurrent_streams),
        ("grpc.keepalive_time_ms", int(opts.keepalive_time_s * 1000)),
        ("grpc.so_reuseport", 1 if shared else 0),
    ]


class GrpcServer:
    def __init__(
        self, address: str, services: Services, options: GrpcOptions, max_request_bytes: int
    ) -> None:
        self.address = address
        self._max_recv = max_request_bytes + GRPC_OVERHEAD_BYTES
        self._services = services
        self._options = options
        self._servers: list[grpc.aio.Server] = []
        self._frontend: Frontend | None = None

    async def start(self) -> None:
        opts = self._options
        shared = opts.accept_loops > 1 or opts.frontend_processes > 0
        if shared and not self.address.endswith(":0"):
            check_free(self.address, "clients")
        if opts.frontend_processes:
            self._frontend = Frontend(self.address, self._services, opts, self._max_recv)
            await self._frontend.start()
            return
        handlers = generic_handlers(API_FILES, self._services, self._max_recv)
        credentials = server_credentials(opts.tls) if opts.tls else None
        address = self.address
        try:
            for _ in range(opts.accept_loops):
                server = grpc.aio.server(
                    options=server_options(opts, receive_ceiling(self._max_recv), shared)
                )
                server.add_generic_rpc_handlers(handlers)
                port = await bind_and_start(server, address, "clients", credentials)
                address = with_port(address, port)  # an ephemeral port: all share the one
                self._servers.append(server)
        except BaseException:
            await self.stop(0)
            raise

    async def stop(self, grace: float) -> None:
        servers, self._servers = self._servers, []
        await asyncio.gather(*(server.stop(grace) for server in servers))
        if self._frontend is not None:
            await self._frontend.stop(grace)
