"""Revisions: points in the key space's history, and their byte encoding.

Every change to the key space happens at a revision ``(main, sub)``. ``main`` counts
atomic change sets (one per write transaction: a put, a delete, a txn); ``sub`` numbers
the changes inside one set from 0. Revisions order by ``main`` then ``sub``, which is
exactly the tuple order of :class:`Revision`.

In the backend's key bucket every version of every key is stored under its revision,
encoded so that bytewise key order is revision order:

=========  ============================================================
byte       meaning
=========  ============================================================
0 - 7      ``main``, unsigned 64-bit big-endian
8          ``b"_"``, a separator that keeps the two numbers readable in dumps
9 - 16     ``sub``, unsigned 64-bit big-endian
17         only on tombstones: ``b"t"``; absent on ordinary versions
=========  ============================================================

For example revision (5, 1) is ``00 00 00 00 00 00 00 05 5f 00 00 00 00 00 00 00 01``
(17 bytes), and a delete at that revision is stored under the same bytes followed by
``74`` (18 bytes). Big-endian numbers of a fixed width compare bytewise like the
numbers themselves, so a range scan of the bucket walks history in order. The marker
is a suffix: a tombstone sorts after the plain bytes of its own revision and before
the next revision (a revision holds one change, so the two never both exist).
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

REV_BYTES_LEN: Final = 17
MARKED_REV_BYTES_LEN: Final = REV_BYTES_LEN + 1
TOMBSTONE_MARK: Final = b"t"

_PACK = struct.Struct(">QcQ")


class Revision(NamedTuple):
    main: int
    sub: int = 0

    def to_bytes(self, tombstone: bool = False) -> bytes:
        """The 17-byte encoding, or 18 bytes with the tombstone marker."""
        encoded = _PACK.pack(self.main, b"_", self.sub)
        return encoded + TOMBSTONE_MARK if tombstone else encoded

    @classmethod
    def from_bytes(cls, data: bytes) -> Revision:
        """Decode 17 or 18 (tombstone) revision bytes."""
        if len(data) not in (REV_BYTES_LEN, MARKED_REV_BYTES_LEN):
            raise ValueError(f"revision bytes must be 17 or 18 long, got {len(data)}")
        main, _, sub = _PACK.unpack_from(data)
        return cls(main, sub)


def is_tombstone(data: bytes) -> bool:
    """Whether ``data`` is revision bytes carrying the tombstone marker."""
    return len(data) == MARKED_REV_BYTES_LEN and data[REV_BYTES_LEN:] == TOMBSTONE_MARK
