"""How a member about to join a running cluster asks a peer for the members."""

from __future__ import annotations

import asyncio

import grpc

from kvcore.api.kvcorepb.peer_pb2 import MembersRequest
from kvcore.api.kvcorepb.peer_pb2_grpc import PeerStub
from kvcore.peer.address import peer_target

from .peer_wire import open_channel

# One peer's share of the time: a black-holed address must leave time for the others.
ATTEMPT_TIMEOUT = 1.0
# Between rounds over all URLs, so that refused connections do not spin.
ROUND_PAUSE = 0.05


async def fetch_members(
    peer_urls: list[str], timeout: float, credentials: grpc.ChannelCredentials | None = None
) -> bytes:
    """The first answer of the peers' Members RPC, tried in turn until ``timeout``
    (over TLS given ``credentials``)."""
    targets = [peer_target(url) for url in peer_urls]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    failures: dict[str, str] = {}
    while loop.time() < deadline:
        for address in targets:
            left = deadline - loop.time()
            if left <= 0:
                break
            async with open_channel(address, credentials) as channel:
                try:
                    call = PeerStub(channel).Members(
                        MembersRequest(), timeout=min(left, ATTEMPT_TIMEOUT)
                    )
                    return (await call).members
                except grpc.aio.AioRpcError as exc:
                    failures[address] = f"{exc.code().name}: {exc.details()}"
        await asyncio.sleep(ROUND_PAUSE)
    raise OSError(f"no peer answered within {timeout} s: {failures or peer_urls}")
