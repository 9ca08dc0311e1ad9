"""A SNAP message in chunks: cut on the sending side, reassembled on the receiving side.

A snapshot's data can be far larger than any one frame or gRPC message a peer
transport allows, so it travels as a head (the message without its data, plus the
data's size) followed by the data in CHUNK_BYTES pieces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from kvcore.raft.codec import decode_message, encode_message
from kvcore.raft.messages import Message, MessageType

CHUNK_BYTES = 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class SnapshotHead:
    message: bytes  # the encoded message, its snapshot's data left out
    total_size: int  # bytes of snapshot data that follow


def split_snapshot(message: Message) -> tuple[SnapshotHead, Iterator[bytes]]:
    """The head, and the data in pieces of at most CHUNK_BYTES.

    The pieces come from a generator, so that only one piece's copy of the data exists
    at a time.
    """
    snap = message.snapshot
    data = memoryview(snap.data if snap is not None else b"")
    head = message
    if snap is not None:
        head = dataclasses.replace(message, snapshot=dataclasses.replace(snap, data=b""))
    pieces = (bytes(data[i : i + CHUNK_BYTES]) for i in range(0, len(data), CHUNK_BYTES))
    return SnapshotHead(encode_message(head), len(data)), pieces


class SnapshotAssembly:
    """Collects one snapshot's pieces. Raises ValueError (or the codec's CodecError, a
    ValueError) on anything but a well-formed SNAP message of the announced size."""

    def __init__(self, head: SnapshotHead) -> None:
        self.message = decode_message(head.message)
        if self.message.type != MessageType.SNAP or self.message.snapshot is None:
            raise ValueError(f"a {self.message.type.name} message sent as a snapshot")
        self._total = head.total_size
        self._size = 0
        self._parts: list[bytes] = []

    def add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._total:
            raise ValueError(f"snapshot data exceeds its announced {self._total} bytes")
        self._parts.append(data)

    @property
    def complete(self) -> bool:
        return self._size == self._total

    def finish(self) -> Message:
        """The message with its whole snapshot data."""
        if self._size != self._total:
            raise ValueError(f"snapshot ended after {self._size} of {self._total} bytes")
        assert self.message.snapshot is not None  # checked in __init__
        self.message.snapshot.data = b"".join(self._parts)
        return self.message
