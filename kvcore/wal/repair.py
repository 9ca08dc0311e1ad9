"""Telling a torn tail, which a crash leaves and which is cut, from corruption.

A crash can only damage what was written after the last fsync, and that is always the
end of the last segment. So a bad record there is torn if nothing was fully written
after it: it reaches the end of the file, or only zeros (preallocated space) follow it.
Since the kernel may persist a batch's pages out of order, a bad record that holds a
whole zeroed 512-byte sector (a sector the crash never wrote) is torn too, as in etcd.
Anything else (a bad record followed by data, or any bad record in a sealed segment)
is corruption.
"""

from __future__ import annotations

from pathlib import Path

from kvcore.wal.errors import WalCorruptError
from kvcore.wal.fileutil import ReadBuffer, is_zero
from kvcore.wal.record import SegmentReader, Stop

SECTOR = 512


def valid_end(reader: SegmentReader, path: Path, is_last: bool) -> int:
    """Where the good records of a decoded segment end; raise if the rest is corruption."""
    data, end = reader.data, reader.end
    if reader.stop is Stop.EOF:
        return end
    if reader.stop is Stop.ZERO:
        # In the last segment anything after unwritten space was never fsynced: a
        # later fsync would have made the zeros before it durable first.
        if is_last or is_zero(data, end, len(data)):
            return end
        raise WalCorruptError(path, end, "zero length word inside a sealed segment")
    if is_last and _torn(data, end, reader.bad_end):
        return end
    raise WalCorruptError(path, end, reader.reason)


def _torn(data: ReadBuffer, start: int, bad_end: int) -> bool:
    if bad_end >= len(data) or is_zero(data, bad_end, len(data)):
        return True
    first_sector = -(-start // SECTOR) * SECTOR
    return any(
        is_zero(data, s, s + SECTOR) for s in range(first_sector, bad_end - SECTOR + 1, SECTOR)
    )
