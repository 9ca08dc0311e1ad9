"""The h2 listener: etcd's gRPC API on kvcore's own HTTP/2 server (asyncio).

Why a second gRPC server: grpc.aio spends ~300 µs of the event loop's CPU on every
call (its completion queue wakes the loop through a poller thread twice per call);
framing gRPC over HTTP/2 in the loop itself costs a fraction of that, and lets the
answers of concurrent calls leave in one write. Same services, messages, codes and
texts as the grpc transport; clients cannot tell them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

from kvcore_http.transport import Gateway
from pydantic import BaseModel, ConfigDict, Field

from kvcore.peer.address import split_host_port
from kvcore.tls import TlsOptions, server_context
from kvcore.transport import GRPC_OVERHEAD_BYTES, Services

from .calls import Router
from .connection import H2Connection


class H2Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
    max_concurrent_streams: int = Field(default=2**31 - 1, gt=0)
    tls: TlsOptions | None = None
    # Serve HTTP/1.x clients on the same port with the JSON gateway, /health, /version
    # and /metrics (kvcore_http), as etcd serves them beside gRPC on its client port.
    http: bool = True


class H2Transport:
    name = "h2"
    options_model = H2Options

    def client_server(
        self, address: str, services: Services, options: H2Options, max_request_bytes: int
    ) -> H2Server:
        return H2Server(address, services, options, max_request_bytes)


class H2Server:
    def __init__(
        self, address: str, services: Services, options: H2Options, max_request_bytes: int
    ) -> None:
        self.address = address
        self._router = Router(services, max_request_bytes + GRPC_OVERHEAD_BYTES)
        self._options = options
        self._server: asyncio.Server | None = None
        self._connections: set[H2Connection] = set()
        self._gateway: Gateway | None = None
        self._http1: Callable[[], asyncio.Protocol] | None = None
        if options.http:
            self._gateway = Gateway(services, max_request_bytes)

    async def start(self) -> None:
        host, port = split_host_port(self.address)
        context = None
        if self._options.tls is not None:
            context = server_context(self._options.tls)
            context.set_alpn_protocols(["h2", "http/1.1"] if self._gateway else ["h2"])
        if self._gateway is not None:
            self._http1 = await self._gateway.open()
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                self._connection, host, port, ssl=context, reuse_address=True, backlog=1024
            )
        except (OSError, socket.gaierror) as exc:
            await self._close_gateway()
            raise OSError(f"cannot listen for clients on {self.address}: {exc}") from exc

    def _connection(self) -> H2Connection:
        conn = H2Connection(
            self._router,
            self._options.max_concurrent_streams,
            self._connections.discard,
            self._http1,
        )
        self._connections.add(conn)
        return conn

    async def stop(self, grace: float) -> None:
        """Refuse new connections and streams; give open calls ``grace`` seconds."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        connections = list(self._connections)
        for conn in connections:
            conn.go_away()
        if connections and grace > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.gather(*(conn.idle.wait() for conn in connections))
        for conn in connections:
            conn.abort()
        await self._close_gateway()
        await server.wait_closed()

    async def _close_gateway(self) -> None:
        if self._gateway is not None:
            await self._gateway.close()
