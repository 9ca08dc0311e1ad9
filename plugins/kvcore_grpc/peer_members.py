"""How a member about to join a running cluster asks a peer for the members."""

from __future__ import annotations

import grpc

from kvcore.api.kvcorepb.peer_pb2 import MembersRequest
from kvcore.api.kvcorepb.peer_pb2_grpc import PeerStub
from kvcore.peer.members import first_answer

from .peer_wire import open_channel


async def fetch_members(
    peer_urls: list[str], timeout: float, credentials: grpc.ChannelCredentials | None = None
) -> bytes:
    """The first answer of the peers' Members RPC (over TLS given ``credentials``)."""

    async def ask(address: str, seconds: float) -> bytes:
        async with open_channel(address, credentials) as channel:
            try:
                return (await PeerStub(channel).Members(MembersRequest(), timeout=seconds)).members
            except grpc.aio.AioRpcError as exc:
                raise OSError(f"{exc.code().name}: {exc.details()}") from None

    return await first_answer(peer_urls, timeout, ask)
