"""How a member about to join a running cluster asks a peer for the members."""

from __future__ import annotations

import asyncio
import ssl

from kvcore.peer.address import peer_target

from .calls import CallChannel
from .wire import Conn, Hello

# One peer's share of the time: a black-holed address must leave time for the others.
ATTEMPT_TIMEOUT = 1.0
# Between rounds over all URLs, so that refused connections do not spin.
ROUND_PAUSE = 0.05
# A joining member knows neither the cluster's id nor its own yet; Members asks for
# neither.
_HELLO = Hello(Conn.CALL, 0, 0).encode()


async def fetch_members(
    peer_urls: list[str], timeout: float, context: ssl.SSLContext | None = None
) -> bytes:
    """The first answer of the peers' Members call, tried in turn until ``timeout``
    (over TLS given ``context``)."""
    targets = [peer_target(url) for url in peer_urls]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    failures: dict[str, str] = {}
    while loop.time() < deadline:
        for address in targets:
            left = deadline - loop.time()
            if left <= 0:
                break
            channel = CallChannel(0, address, _HELLO, context)
            try:
                return await channel.members(min(left, ATTEMPT_TIMEOUT))
            except OSError as exc:
                failures[address] = str(exc)
            finally:
                await channel.close()
        await asyncio.sleep(ROUND_PAUSE)
    raise OSError(f"no peer answered within {timeout} s: {failures or peer_urls}")
