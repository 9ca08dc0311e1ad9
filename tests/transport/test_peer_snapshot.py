"""SNAP messages: cut into chunks, carried beside the stream, reassembled whole."""

from __future__ import annotations

import pytest

from kvcore.peer.snapshot import CHUNK_BYTES, SnapshotAssembly, split_snapshot
from kvcore.raft.messages import MessageType
from kvcore.transport import PeerTransport

from .peers import eventually, members, message, run_async, snapshot_message


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES, CHUNK_BYTES + 1])
def test_chunks_reassemble(size: int) -> None:
    snap = snapshot_message(2, 1, size)
    head, pieces = split_snapshot(snap)
    rest = list(pieces)
    assert head.total_size == size
    assert all(len(piece) <= CHUNK_BYTES for piece in rest)
    assembly = SnapshotAssembly(head)
    for piece in rest:
        assembly.add(piece)
    assert assembly.finish() == snap


def test_a_short_or_long_snapshot_is_refused() -> None:
    head, pieces = split_snapshot(snapshot_message(2, 1, 10))
    with pytest.raises(ValueError, match="ended after 0 of 10"):
        SnapshotAssembly(head).finish()
    assembly = SnapshotAssembly(head)
    with pytest.raises(ValueError, match="exceeds"):
        assembly.add(next(pieces) + b"x")
    head, _ = split_snapshot(message(2, 1, 1))
    with pytest.raises(ValueError, match="HEARTBEAT"):
        SnapshotAssembly(head)


@run_async
async def test_a_large_snapshot_arrives_whole_beside_heartbeats(transport: PeerTransport) -> None:
    async with members(transport, 2) as (a, b):
        snap = snapshot_message(2, 1, 5 * 1024 * 1024 + 7)
        a.network.send([message(2, 1, 1), snap, message(2, 1, 2)])
        await eventually(lambda: a.handler.snapshots == [(2, True)])
        received = {m.type: m for m in b.handler.received}
        assert received[MessageType.SNAP] == snap
        assert [m.index for m in b.handler.received if m.type == MessageType.HEARTBEAT] == [1, 2]


@run_async
async def test_a_snapshot_to_a_down_peer_fails(transport: PeerTransport) -> None:
    async with members(transport, 2, started=1) as (a, _):
        a.network.send([snapshot_message(2, 1, 100)])
        await eventually(lambda: a.handler.snapshots == [(2, False)])
        await eventually(lambda: 2 in a.handler.unreachable)  # the stream's failure
        a.network.send([snapshot_message(2, 1, 100)])  # known down: reported without trying
        assert a.handler.snapshots == [(2, False), (2, False)]
