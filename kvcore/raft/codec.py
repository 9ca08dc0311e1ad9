"""Explicit binary encodings of raft values, for the WAL and the peer transport.

All integers are big-endian and unsigned; ids, terms and indexes are 64-bit. Byte
strings are a u32 length then the bytes. Layouts:

  entry          u8 type, u64 term, u64 index, bytes data
  hard state     u64 term, u64 vote, u64 commit
  conf state     u32 n, n*u64 voters, u32 m, m*u64 learners
  snap metadata  u64 index, u64 term, conf state
  snapshot       snap metadata, bytes data
  conf change    u8 type, u64 node_id, bytes context
  message        u8 version (1), u8 type, u64 to, u64 frm, u64 term, u64 log_term,
                 u64 index, u64 commit, u8 reject, u64 reject_hint,
                 u32 n, n*entry, u8 has_snapshot, [snapshot], bytes context

Decoders reject truncated input and trailing bytes with CodecError.
"""

from __future__ import annotations

import enum
import functools
import struct

from kvcore.raft.messages import Message, MessageType
from kvcore.raft.types import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Snapshot,
    SnapshotMetadata,
)

MESSAGE_VERSION = 1

_U8 = struct.Struct(">B")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_ENTRY_HEAD = struct.Struct(">BQQ")
_HARD_STATE = struct.Struct(">QQQ")
_META_HEAD = struct.Struct(">QQ")
_CC_HEAD = struct.Struct(">BQ")
_MSG_HEAD = struct.Struct(">BBQQQQQQBQ")


class CodecError(ValueError):
    """Input bytes are not a valid encoding."""


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = memoryview(buf)
        self.pos = 0

    def unpack(self, st: struct.Struct) -> tuple[int, ...]:
        end = self.pos + st.size
        if end > len(self.buf):
            raise CodecError("truncated input")
        vals = st.unpack_from(self.buf, self.pos)
        self.pos = end
        return vals

    def u8(self) -> int:
        return self.unpack(_U8)[0]

    def u32(self) -> int:
        return self.unpack(_U32)[0]

    def u64(self) -> int:
        return self.unpack(_U64)[0]

    def blob(self) -> bytes:
        n = self.u32()
        end = self.pos + n
        if end > len(self.buf):
            raise CodecError("truncated byte string")
        out = bytes(self.buf[self.pos : end])
        self.pos = end
        return out

    def done(self) -> None:
        if self.pos != len(self.buf):
            raise CodecError(f"{len(self.buf) - self.pos} trailing bytes")


def _enum(cls: type, v: int):  # type: ignore[no-untyped-def]
    member = _members(cls).get(v)
    if member is None:
        raise CodecError(f"unknown {cls.__name__} {v}")
    return member


@functools.cache
def _members(cls: type) -> dict[int, enum.Enum]:
    """An enum's members by value: a dict lookup per decoded field, not an enum call."""
    return {member.value: member for member in cls}


def _blob(b: bytes) -> bytes:
    return _U32.pack(len(b)) + b


def _ids(ids: list[int]) -> bytes:
    return _U32.pack(len(ids)) + b"".join(_U64.pack(i) for i in ids)


def _read_ids(rd: _Reader) -> list[int]:
    return [rd.u64() for _ in range(rd.u32())]


def _decode_whole(data: bytes, read):  # type: ignore[no-untyped-def]
    rd = _Reader(data)
    try:
        out = read(rd)
    except struct.error as e:
        raise CodecError(str(e)) from None
    rd.done()
    return out


# -- entry ------------------------------------------------------------------------


def encode_entry(e: Entry) -> bytes:
    return _ENTRY_HEAD.pack(e.type, e.term, e.index) + _blob(e.data)


def _read_entry(rd: _Reader) -> Entry:
    t, term, index = rd.unpack(_ENTRY_HEAD)
    return Entry(term=term, index=index, type=_enum(EntryType, t), data=rd.blob())


def decode_entry(data: bytes) -> Entry:
    return _decode_whole(data, _read_entry)


# -- hard state -------------------------------------------------------------------


def encode_hard_state(hs: HardState) -> bytes:
    return _HARD_STATE.pack(hs.term, hs.vote, hs.commit)


def decode_hard_state(data: bytes) -> HardState:
    def read(rd: _Reader) -> HardState:
        term, vote, commit = rd.unpack(_HARD_STATE)
        return HardState(term=term, vote=vote, commit=commit)

    return _decode_whole(data, read)


# -- conf state, snapshot ------------------------------------------------------------


def encode_conf_state(cs: ConfState) -> bytes:
    return _ids(cs.voters) + _ids(cs.learners)


def _read_conf_state(rd: _Reader) -> ConfState:
    return ConfState(voters=_read_ids(rd), learners=_read_ids(rd))


def decode_conf_state(data: bytes) -> ConfState:
    return _decode_whole(data, _read_conf_state)


def encode_snapshot_metadata(meta: SnapshotMetadata) -> bytes:
    return _META_HEAD.pack(meta.index, meta.term) + encode_conf_state(meta.conf_state)


def _read_snapshot_metadata(rd: _Reader) -> SnapshotMetadata:
    index, term = rd.unpack(_META_HEAD)
    return SnapshotMetadata(index=index, term=term, conf_state=_read_conf_state(rd))


def decode_snapshot_metadata(data: bytes) -> SnapshotMetadata:
    return _decode_whole(data, _read_snapshot_metadata)


def encode_snapshot(snap: Snapshot) -> bytes:
    return encode_snapshot_metadata(snap.metadata) + _blob(snap.data)


def _read_snapshot(rd: _Reader) -> Snapshot:
    meta = _read_snapshot_metadata(rd)
    return Snapshot(metadata=meta, data=rd.blob())


def decode_snapshot(data: bytes) -> Snapshot:
    return _decode_whole(data, _read_snapshot)


# -- conf change -----------------------------------------------------------------------


def encode_conf_change(cc: ConfChange) -> bytes:
    return _CC_HEAD.pack(cc.type, cc.node_id) + _blob(cc.context)


def decode_conf_change(data: bytes) -> ConfChange:
    def read(rd: _Reader) -> ConfChange:
        t, node_id = rd.unpack(_CC_HEAD)
        return ConfChange(type=_enum(ConfChangeType, t), node_id=node_id, context=rd.blob())

    return _decode_whole(data, read)


# -- message -----------------------------------------------------------------------------


def encode_message(m: Message) -> bytes:
    parts = [
        _MSG_HEAD.pack(
            MESSAGE_VERSION,
            m.type,
            m.to,
            m.frm,
            m.term,
            m.log_term,
            m.index,
            m.commit,
            1 if m.reject else 0,
            m.reject_hint,
        ),
        _U32.pack(len(m.entries)),
    ]
    parts.extend(encode_entry(e) for e in m.entries)
    if m.snapshot is None:
        parts.append(_U8.pack(0))
    else:
        parts.append(_U8.pack(1))
        parts.append(encode_snapshot(m.snapshot))
    parts.append(_blob(m.context))
    return b"".join(parts)


def _read_message(rd: _Reader) -> Message:
    version, t, to, frm, term, log_term, index, commit, reject, hint = rd.unpack(_MSG_HEAD)
    if version != MESSAGE_VERSION:
        raise CodecError(f"unknown message version {version}")
    if reject > 1:
        raise CodecError("reject flag must be 0 or 1")
    entries = [_read_entry(rd) for _ in range(rd.u32())]
    has_snap = rd.u8()
    if has_snap > 1:
        raise CodecError("snapshot flag must be 0 or 1")
    snapshot = _read_snapshot(rd) if has_snap else None
    return Message(
        type=_enum(MessageType, t),
        to=to,
        frm=frm,
        term=term,
        log_term=log_term,
        index=index,
        entries=entries,
        commit=commit,
        reject=bool(reject),
        reject_hint=hint,
        snapshot=snapshot,
        context=rd.blob(),
    )


def decode_message(data: bytes) -> Message:
    return _decode_whole(data, _read_message)
