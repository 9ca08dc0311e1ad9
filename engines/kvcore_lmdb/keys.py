"""How bucket keys become LMDB record keys: order kept, empty and long keys allowed.

LMDB refuses the empty key and keys over 511 bytes (its default build's limit); the
backend contract allows both. Every record key is therefore ``TAG + something``:

* a key of at most :data:`PREFIX` bytes is stored as ``TAG + key``, its value as is;
* a longer key goes into a *group* record ``TAG + key[:PREFIX] + b"\\x00"`` whose value
  packs, in key order, every long key sharing those first :data:`PREFIX` bytes (as
  suffixes after the prefix) with its value.

Why the order holds: a short key ``k`` sorts before a long key ``p + rest`` exactly when
``k <= p``, and ``TAG + p + b"\\x00"`` is the smallest record key above ``TAG + p`` that
no short key can take (short record keys are at most ``PREFIX + 1`` bytes long). So
walking record keys in LMDB's order and unpacking groups in place yields bucket keys in
bytewise order. Group records are the only record keys ``PREFIX + 2`` bytes long.

The core's keys are short (revisions, ids, names), so groups are for correctness, not
speed: changing one long key rewrites its whole group.
"""

from __future__ import annotations

import struct
from typing import Final

PREFIX: Final = 509
TAG: Final = b"k"
GROUP_KEY_LEN: Final = len(TAG) + PREFIX + 1
MAX_RECORD_KEY: Final = GROUP_KEY_LEN  # LMDB must accept keys this long

_LENGTHS: Final = struct.Struct(">II")  # suffix length, value length


def record_key(key: bytes) -> bytes:
    """The LMDB key of the record that holds ``key``."""
    if len(key) <= PREFIX:
        return TAG + key
    return TAG + key[:PREFIX] + b"\x00"


def is_long(key: bytes) -> bool:
    return len(key) > PREFIX


def unpack_group(record: bytes) -> dict[bytes, bytes]:
    """A group record's value as ``{suffix: value}``, in key order."""
    entries: dict[bytes, bytes] = {}
    view, pos = memoryview(record), 0
    while pos < len(view):
        suffix_len, value_len = _LENGTHS.unpack_from(view, pos)
        pos += _LENGTHS.size
        suffix = bytes(view[pos : pos + suffix_len])
        pos += suffix_len
        entries[suffix] = bytes(view[pos : pos + value_len])
        pos += value_len
    return entries


def pack_group(entries: dict[bytes, bytes]) -> bytes:
    parts = []
    for suffix in sorted(entries):
        value = entries[suffix]
        parts += (_LENGTHS.pack(len(suffix), len(value)), suffix, value)
    return b"".join(parts)


def pairs(record_key: bytes, record: bytes, reverse: bool) -> list[tuple[bytes, bytes]]:
    """The bucket pairs one LMDB record holds, in key order (or reversed)."""
    if len(record_key) != GROUP_KEY_LEN:
        return [(record_key[len(TAG) :], record)]
    prefix = record_key[len(TAG) : -1]
    entries = [(prefix + suffix, value) for suffix, value in unpack_group(record).items()]
    return entries[::-1] if reverse else entries
