"""HashKV: a checksum of the MVCC history up to a revision, equal on every member
that applied the same log (the check etcd's corruption detection and operators use).

It covers, in revision order, key and value bytes both, every stored version with a
revision at or below ``rev`` that compaction keeps: above the compaction revision all
of them, at or below it only those the compaction keeps (``keep``). So the hash does
not depend on how far a member's backend purge has got.
"""

from __future__ import annotations

import zlib

from kvcore import schema
from kvcore.backend import ReadTxn
from kvcore.mvcc.revision import Revision


def hash_kv(txn: ReadTxn, rev: int, compact_rev: int, keep: set[Revision]) -> int:
    """CRC-32 of the key bucket's live history with main revision <= ``rev``, as
    ``txn`` sees it."""
    crc = zlib.crc32(schema.KEY.encode())
    end = Revision(rev + 1, 0).to_bytes()
    for key, value in txn.range(schema.KEY, b"", end):
        revision = Revision.from_bytes(key)
        if revision.main > compact_rev or revision in keep:
            crc = zlib.crc32(value, zlib.crc32(key, crc))
    return crc
