"""The listening side: accepts members' connections (each a Connection, served by the
session its HELLO asks the Receiver for) and closes them all on stop."""

from __future__ import annotations

import asyncio
import logging
import ssl

from kvcore.peer.address import split_host_port
from kvcore.peer.log import Refusals
from kvcore.transport import PeerHandler

from .connection import Connection
from .receive import Receiver
from .sockets import HANDSHAKE_TIMEOUT

log = logging.getLogger(__name__)


class PeerListener:
    def __init__(
        self,
        address: str,
        local_id: int,
        cluster_id: int,
        handler: PeerHandler,
        context: ssl.SSLContext | None,
    ) -> None:
        self.address = address
        self._context = context
        self._refusals = Refusals(log)
        self._receiver = Receiver(local_id, cluster_id, handler, self._refusals)
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()

    async def start(self) -> None:
        """Listen; OSError if the address is taken (no SO_REUSEPORT: a second member on
        the same port must fail, not share the traffic)."""
        host, port = split_host_port(self.address)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._connection,
            host,
            port,
            ssl=self._context,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT if self._context else None,
        )

    async def stop(self) -> None:
        """Stop listening and end every connection now: a stream never ends by itself."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = [task for c in list(self._connections) for task in c.abort()]
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    def _connection(self) -> Connection:
        return Connection(self._receiver.open_session, self._refusals, self._connections)
