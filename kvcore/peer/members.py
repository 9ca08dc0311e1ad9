"""How a member asks its peers for the member list (``PeerTransport.fetch_members``):
the URLs in turn, each for a share of the time, until one answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from kvcore.peer.address import peer_target

# One peer's share of the time: a black-holed address must leave time for the others.
ATTEMPT_TIMEOUT = 1.0
# Between rounds over all URLs, so that refused connections do not spin.
ROUND_PAUSE = 0.05


async def first_answer(
    peer_urls: list[str], timeout: float, ask: Callable[[str, float], Awaitable[bytes]]
) -> bytes:
    """What ``ask(address, seconds)`` returns for the first peer that answers; ``ask``
    raises OSError for a peer that does not. Raises OSError, naming each peer's last
    failure, once ``timeout`` seconds have passed."""
    targets = [peer_target(url) for url in peer_urls]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    failures: dict[str, str] = {}
    while loop.time() < deadline:
        for address in targets:
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                return await ask(address, min(left, ATTEMPT_TIMEOUT))
            except OSError as exc:
                failures[address] = str(exc)
        await asyncio.sleep(ROUND_PAUSE)
    raise OSError(f"no peer answered within {timeout} s: {failures or peer_urls}")
