"""A SNAP message as a Snapshot call's SnapshotChunk messages, and back (the cutting
and the reassembly are the core's, ``kvcore.peer.snapshot``)."""

from __future__ import annotations

from collections.abc import Iterator

from kvcore.api.kvcorepb.peer_pb2 import SnapshotChunk
from kvcore.peer.snapshot import SnapshotAssembly, SnapshotHead, split_snapshot
from kvcore.raft.messages import Message


def snapshot_chunks(message: Message, cluster_id: int, local_id: int) -> Iterator[SnapshotChunk]:
    """The header chunk (the message without its data), then the data in pieces."""
    head, pieces = split_snapshot(message)
    yield SnapshotChunk(
        cluster_id=cluster_id,
        message=head.message,
        total_size=head.total_size,
        **{"from": local_id},
    )
    for piece in pieces:
        yield SnapshotChunk(data=piece)


def start_assembly(head: SnapshotChunk) -> SnapshotAssembly:
    """The assembly a Snapshot call's first chunk starts (ValueError if it is not a
    SNAP message's head)."""
    started = SnapshotAssembly(SnapshotHead(head.message, head.total_size))
    started.add(head.data)
    return started
