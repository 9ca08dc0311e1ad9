"""HashKV: a checksum of the MVCC history up to a revision, equal on every member
that applied the same log (the check etcd's corruption detection and operators use).

It covers every stored version with a revision at or below ``rev`` — what compaction
left of the history, which every member compacts alike — in revision order, key and
value bytes both.
"""

from __future__ import annotations

import zlib

from kvcore import schema
from kvcore.backend import Backend
from kvcore.mvcc.revision import Revision


def hash_kv(backend: Backend, rev: int) -> int:
    """CRC-32 of the key bucket's versions with main revision <= ``rev``."""
    crc = zlib.crc32(schema.KEY.encode())
    end = Revision(rev + 1, 0).to_bytes()
    with backend.read() as txn:
        for key, value in txn.range(schema.KEY, b"", end):
            crc = zlib.crc32(value, zlib.crc32(key, crc))
    return crc
