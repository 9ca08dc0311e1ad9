"""Opening and tuning the TCP connections between members."""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

from kvcore.peer.address import split_host_port

from .wire import Refused

# How long a peer may take to accept a connection: a black-holed address never refuses.
HANDSHAKE_TIMEOUT = 3.0
# The StreamReader's buffer: frames of raft messages and snapshot pieces are large,
# and a bigger buffer reads them in fewer wake-ups.
READ_LIMIT = 1024 * 1024

# A peer that vanished without a reset (power loss, partition) is found within ~5 s,
# as gRPC's keepalive pings found it: an idle connection is probed after 2 s, every
# 1 s, 3 times; data left unacknowledged for 5 s ends the connection.
_KEEPALIVE = (
    ("TCP_KEEPIDLE", 2),
    ("TCP_KEEPINTVL", 1),
    ("TCP_KEEPCNT", 3),
    ("TCP_USER_TIMEOUT", 5000),  # ms; Linux only
)


def tune(transport: asyncio.BaseTransport) -> None:
    """No Nagle delay (a heartbeat must not wait for an ACK), and the keepalive above
    where the platform has it."""
    sock: Any = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in _KEEPALIVE:
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


async def connect(
    address: str, context: ssl.SSLContext | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A tuned connection to ``host:port``, over TLS given ``context`` (the peer's
    certificate is checked against the host it is dialled by). OSError on failure."""
    host, port = split_host_port(address)
    reader, writer = await asyncio.open_connection(
        host, port, ssl=context, server_hostname=host if context else None, limit=READ_LIMIT
    )
    tune(writer.transport)
    return reader, writer


def peer_name(connection: asyncio.BaseTransport | asyncio.StreamWriter) -> str:
    """``host:port`` of the other end, for logs."""
    name = connection.get_extra_info("peername")
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name)


def failure(exc: BaseException, timeout: float = HANDSHAKE_TIMEOUT) -> str:
    """Why a connection failed, for logs and errors."""
    if isinstance(exc, Refused):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout} s"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "the peer closed the connection"
    return str(exc) or repr(exc)
