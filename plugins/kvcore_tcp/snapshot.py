"""The sending side of a SNAPSHOT connection: one SNAP message, beside the stream."""

from __future__ import annotations

import asyncio
import ssl

from kvcore.peer.snapshot import split_snapshot
from kvcore.raft.messages import Message

from .sockets import HANDSHAKE_TIMEOUT, connect
from .wire import HEADER, Frame, expect, snap_head


async def send_snapshot(
    address: str, hello: bytes, message: Message, context: ssl.SSLContext | None
) -> None:
    """Deliver ``message`` whole on a connection of its own, so that a large snapshot
    does not hold up the stream's heartbeats. Returns once the peer has taken it;
    raises OSError (Refused for a refusal) or ProtocolError otherwise."""
    async with asyncio.timeout(HANDSHAKE_TIMEOUT):
        reader, writer = await connect(address, context)
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            writer.write(hello)
            await expect(reader, Frame.ACCEPT)
        head, pieces = split_snapshot(message)
        writer.write(snap_head(head.total_size, head.message))
        for piece in pieces:
            # Piece by piece, waiting for the socket to take each, so that one piece's
            # copy of the data exists at a time.
            writer.writelines((HEADER.pack(len(piece), Frame.SNAP_DATA), piece))
            await writer.drain()
        await expect(reader, Frame.SNAP_DONE)
    finally:
        writer.transport.abort()
