"""How a member about to join a running cluster asks a peer for the members."""

from __future__ import annotations

import ssl

from kvcore.peer.members import first_answer

from .calls import CallChannel
from .wire import Conn, Hello

# A joining member knows neither the cluster's id nor its own yet; Members asks for
# neither.
_HELLO = Hello(Conn.CALL, 0, 0).encode()


async def fetch_members(
    peer_urls: list[str], timeout: float, context: ssl.SSLContext | None = None
) -> bytes:
    """The first answer of the peers' Members call (over TLS given ``context``)."""

    async def ask(address: str, seconds: float) -> bytes:
        channel = CallChannel(0, address, _HELLO, context)
        try:
            return await channel.members(seconds)
        finally:
            await channel.close()

    return await first_answer(peer_urls, timeout, ask)
