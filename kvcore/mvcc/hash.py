"""HashKV: a checksum of the MVCC history up to a revision, equal on every member
that applied the same log (the check etcd's corruption detection and operators use).

Computed as etcd computes it, so that the numbers agree with etcd's for the same
history: CRC-32C (Castagnoli) of the bucket name, then of key and value bytes of every
stored version with a main revision at or below ``rev``, in revision order. Versions at
or below the compaction revision count only if ``keep`` - what compacting at ``rev``
would keep, each key's newest version there - holds them; an empty ``keep`` skips
nothing. A nonempty ``keep`` leaves out every version a backend purge deletes, so the
hash does not depend on how far a member's purge has got.
"""

from __future__ import annotations

from crc32c import crc32c

from kvcore import schema
from kvcore.backend import ReadTxn
from kvcore.mvcc.revision import Revision


def hash_kv(txn: ReadTxn, rev: int, compact_rev: int, keep: set[Revision]) -> int:
    """CRC-32C of the key bucket's history with main revision <= ``rev``, as ``txn``
    sees it; ``keep`` is ``index.keep(rev)`` taken with the same view."""
    crc = crc32c(schema.KEY.encode())
    end = Revision(max(rev + 1, 0), 0).to_bytes()  # a negative rev hashes no version
    for key, value in txn.range(schema.KEY, b"", end):
        if keep:
            revision = Revision.from_bytes(key)
            if revision.main <= compact_rev and revision not in keep:
                continue
        crc = crc32c(value, crc32c(key, crc))
    return crc
