"""A SNAP message in chunks: cut on the sending side, reassembled on the receiving side."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from kvcore.api.kvcorepb.peer_pb2 import SnapshotChunk
from kvcore.raft.codec import decode_message, encode_message
from kvcore.raft.messages import Message, MessageType

CHUNK_BYTES = 1024 * 1024


def snapshot_chunks(message: Message, cluster_id: int, local_id: int) -> Iterator[SnapshotChunk]:
    """The header chunk (the message without its data), then the data in CHUNK_BYTES pieces.

    A generator, so that only one chunk's copy of the data exists at a time.
    """
    snap = message.snapshot
    data = memoryview(snap.data if snap is not None else b"")
    head = message
    if snap is not None:
        head = dataclasses.replace(message, snapshot=dataclasses.replace(snap, data=b""))
    yield SnapshotChunk(
        cluster_id=cluster_id,
        message=encode_message(head),
        total_size=len(data),
        **{"from": local_id},
    )
    for start in range(0, len(data), CHUNK_BYTES):
        yield SnapshotChunk(data=bytes(data[start : start + CHUNK_BYTES]))


class SnapshotAssembly:
    """Collects one Snapshot call's chunks. Raises ValueError (or the codec's
    CodecError, a ValueError) on anything but a well-formed SNAP message."""

    def __init__(self, head: SnapshotChunk) -> None:
        self.message = decode_message(head.message)
        if self.message.type != MessageType.SNAP or self.message.snapshot is None:
            raise ValueError(f"a {self.message.type.name} message sent as a snapshot")
        self._total = head.total_size
        self._size = 0
        self._parts: list[bytes] = []
        self.add(head.data)

    def add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._total:
            raise ValueError(f"snapshot data exceeds its announced {self._total} bytes")
        self._parts.append(data)

    def finish(self) -> Message:
        """The message with its whole snapshot data."""
        if self._size != self._total:
            raise ValueError(f"snapshot ended after {self._size} of {self._total} bytes")
        assert self.message.snapshot is not None  # checked in __init__
        self.message.snapshot.data = b"".join(self._parts)
        return self.message
