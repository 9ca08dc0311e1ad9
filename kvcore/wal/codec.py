"""Payload encodings of the WAL's record types (the byte layouts are in the package doc).

Fixed little-endian structs, no framing: a record's length comes from its frame, so a
variable-length tail (an entry's data) needs no length of its own.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from kvcore.raft.types import Entry, EntryType, HardState


@dataclass(frozen=True, slots=True)
class SnapshotMarker:
    """The (index, term) of a raft snapshot, recorded in the WAL when one is taken."""

    index: int = 0
    term: int = 0


_ENTRY_HEAD = struct.Struct("<QQB")  # term, index, type; the data follows
_HARD_STATE = struct.Struct("<QQQ")  # term, vote, commit
_SNAPSHOT = struct.Struct("<QQ")  # index, term
_CRC = struct.Struct("<I")


def encode_entry(entry: Entry) -> bytes:
    return _ENTRY_HEAD.pack(entry.term, entry.index, entry.type) + entry.data


def decode_entry(payload: bytes) -> Entry:
    if len(payload) < _ENTRY_HEAD.size:
        raise ValueError(f"entry payload of {len(payload)} bytes is too short")
    term, index, kind = _ENTRY_HEAD.unpack_from(payload)
    return Entry(term=term, index=index, type=EntryType(kind), data=payload[_ENTRY_HEAD.size :])


def encode_hard_state(state: HardState) -> bytes:
    return _HARD_STATE.pack(state.term, state.vote, state.commit)


def decode_hard_state(payload: bytes) -> HardState:
    term, vote, commit = _unpack_exact(_HARD_STATE, payload)
    return HardState(term=term, vote=vote, commit=commit)


def encode_snapshot(marker: SnapshotMarker) -> bytes:
    return _SNAPSHOT.pack(marker.index, marker.term)


def decode_snapshot(payload: bytes) -> SnapshotMarker:
    index, term = _unpack_exact(_SNAPSHOT, payload)
    return SnapshotMarker(index=index, term=term)


def encode_crc(crc: int) -> bytes:
    return _CRC.pack(crc)


def decode_crc(payload: bytes) -> int:
    (crc,) = _unpack_exact(_CRC, payload)
    return crc


def _unpack_exact(layout: struct.Struct, payload: bytes) -> tuple[int, ...]:
    # struct.error would say little; a wrong size here means a corrupt record.
    if len(payload) != layout.size:
        raise ValueError(f"payload of {len(payload)} bytes, expected {layout.size}")
    return layout.unpack(payload)
