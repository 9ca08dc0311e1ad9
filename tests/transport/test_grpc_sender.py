"""What only the gRPC peer sender has: a bounded queue of messages per peer (the tcp
sender bounds bytes instead: test_tcp_peer.py)."""

from __future__ import annotations

from kvcore_grpc.peer_sender import QUEUE_SIZE

from .peers import PEER_TRANSPORTS, eventually, members, message, run_async


@run_async
async def test_a_full_queue_drops_and_reports() -> None:
    async with members(PEER_TRANSPORTS["grpc"], 2) as (a, b):
        # One synchronous call: the sender cannot drain the queue before it returns.
        a.network.send([message(2, 1, i) for i in range(QUEUE_SIZE + 100)])
        assert a.handler.unreachable == [2] * 100
        await eventually(lambda: len(b.handler.received) == QUEUE_SIZE)
        assert [m.index for m in b.handler.received] == list(range(QUEUE_SIZE))
