"""kvcore's write-ahead log of raft entries and hard state, and its snapshot files.

Everything here is synchronous and blocking; the asyncio driver calls it from a worker
thread, one call per batch.

Use
===

    wal = WAL.create(path, metadata)              # a new member; metadata is opaque
    wal.save(hard_state, entries)                  # durable on return: one fdatasync
    wal.save_snapshot(SnapshotMarker(index, term)) # after Snapshotter.save of that snapshot
    wal.release_to(index)                          # drop segments wholly below index
    wal.close()

    wal = WAL.open(path, from_snapshot=marker)     # a restart; cuts a torn tail
    contents = wal.read_all()                      # metadata, hard state, entries > marker

Directory
=========

A WAL is a directory of segment files named ``{seq:016x}-{first_index:016x}.wal``:
``seq`` counts segments from 0 without gaps, ``first_index`` is the index the next entry
had when the segment began (the first is ``0000000000000000-0000000000000000.wal``).
``create`` builds the directory as ``<dir>.tmp``, fsyncs it, renames it into place and
fsyncs the parent, so a WAL directory exists whole or not at all. When a segment passes
the size limit (64 MiB by default) after a batch, it is truncated to its records,
fsynced, and the next segment is written as ``<name>.tmp``, fsynced and renamed; ``open``
deletes leftover ``*.tmp`` files. Segments are preallocated with ``posix_fallocate`` so
an fdatasync rarely has block metadata to write; the zeros of preallocated space end the
records. An open WAL holds an exclusive ``flock`` on its directory.

Records
=======

A segment is a sequence of records, each 8-byte aligned::

    offset  size  field
    0       8     length word, little-endian: bits 0-55 = n, the byte count of
                  type + crc + payload (8 + len(payload)); bits 56-63 = pad, 0-7
    8       4     type, little-endian u32
    12      4     crc, little-endian u32
    16      n-8   payload
    8+n     pad   zero bytes, so the next record starts 8-byte aligned

Because records are aligned, the length word sits inside one sector and is never torn;
it is never zero for a real record (n >= 8), so a zero word means unwritten space.
``pad`` must equal ``-n % 8``, which catches most garbage words.

``crc`` is zlib's CRC-32 of the 4 type bytes and the payload, seeded with the crc of the
previous record in the segment (0 for a segment's first record): a chain, so a record
cannot be dropped, reordered or replayed from elsewhere unnoticed.

Record types and payloads (integers little-endian)::

    1 METADATA    the opaque bytes given to create (e.g. node and cluster id)
    2 ENTRY       u64 term, u64 index, u8 entry type, then the entry's data
    3 HARD_STATE  u64 term, u64 vote, u64 commit
    4 CRC         u32: the crc of the previous segment's last record (0 in the first)
    5 SNAPSHOT    u64 index, u64 term of a snapshot that was saved

Every segment begins CRC, METADATA, then the latest HARD_STATE if any (the first segment
also has a SNAPSHOT marker at index 0), so a reader can start at any segment. The CRC
record links the chain across segments: a reader that read the previous segment checks
that the value carried is the crc it ended with.

Reading
=======

``open(dir, marker)`` reads from the newest segment whose ``first_index`` is at or below
the marker's index; the marker must appear there as a SNAPSHOT record. An entry whose
index is at or below the last one read replaces the log from that index on (a new
leader's truncation); entries at or below the marker's index are not returned, but still
replace what follows them. The last hard state read wins; all METADATA records must be
equal.

Repair: a crash can only damage what followed the last fsync, the end of the last
segment. There, a zero length word ends the records, and a bad record (partial, crc
mismatch, bad frame) that reaches the end of the file, is followed only by zeros, or
contains a whole zeroed 512-byte sector is a torn write: the file is truncated to the
last good record and fsynced before anything is appended. Any other bad record, and any
bad record in an earlier segment, raises ``WalCorruptError`` naming file and offset.

Snapshot files: see ``kvcore.wal.snapshot``.
"""

from kvcore.wal.codec import SnapshotMarker
from kvcore.wal.errors import WalCorruptError, WalError, WalSnapshotMissingError
from kvcore.wal.snapshot import SnapshotCorruptError, Snapshotter
from kvcore.wal.wal import DEFAULT_SEGMENT_SIZE, WAL, WalContents

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "WAL",
    "SnapshotCorruptError",
    "SnapshotMarker",
    "Snapshotter",
    "WalContents",
    "WalCorruptError",
    "WalError",
    "WalSnapshotMissingError",
]
