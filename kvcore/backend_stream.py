"""An engine-neutral dump of a whole backend, and loading one into any engine.

Raft snapshots carry it between members, whatever engine each runs (snapshot files
are bbolt files, ``kvcore.bolt``; kvcore's first ones held this dump and still
restore). Format (integers big-endian)::

    b"KVCDUMP1"
    record*       u8 n, bucket name (n bytes, n >= 1), u32 k, key, u32 v, value
    trailer       u8 0, u64 record count, u32 CRC-32 of every record's bytes
    padding       zero bytes, any number (a snapshot file pads to whole 512-byte pages)

Records come bucket by bucket in key order. The trailer makes a cut-short stream an
error rather than a smaller store.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence

from kvcore.backend import Backend, ReadTxn

MAGIC = b"KVCDUMP1"
_LEN32 = struct.Struct(">I")
_TRAILER = struct.Struct(">BQI")
CHUNK_BYTES = 1 << 20


class DumpError(ValueError):
    """The data is not a whole, intact backend dump."""


def dump(backend: Backend, buckets: Sequence[str]) -> Iterator[bytes]:
    """Yield the dump of ``buckets`` in chunks of about a MiB, from one read snapshot."""
    with backend.read() as txn:
        yield from dump_txn(txn, buckets)


def dump_txn(txn: ReadTxn, buckets: Sequence[str]) -> Iterator[bytes]:
    """Yield the dump of ``buckets`` as ``txn`` sees them, in chunks of about a MiB."""
    yield MAGIC
    crc, count, chunk = 0, 0, bytearray()
    for bucket in buckets:
        name = bucket.encode()
        for key, value in txn.range(bucket, b""):
            record = _record(name, key, value)
            crc = zlib.crc32(record, crc)
            count += 1
            chunk += record
            if len(chunk) >= CHUNK_BYTES:
                yield bytes(chunk)
                chunk.clear()
    yield bytes(chunk) + _TRAILER.pack(0, count, crc)


def dump_bytes(backend: Backend, buckets: Sequence[str]) -> bytes:
    return b"".join(dump(backend, buckets))


def load(backend: Backend, buckets: Sequence[str], chunks: Iterable[bytes]) -> None:
    """Replace everything in ``buckets`` with the dump's contents, in one transaction."""
    replace(backend, buckets, records(chunks))


def replace(
    backend: Backend, buckets: Sequence[str], items: Iterable[tuple[str, bytes, bytes]]
) -> None:
    """Replace everything in ``buckets`` with ``items`` (bucket, key, value), in one
    transaction: nothing changes if reading them raises."""
    known = set(buckets)
    with backend.write() as txn:
        for bucket in buckets:
            for key, _ in list(txn.range(bucket, b"")):
                txn.delete(bucket, key)
        for bucket, key, value in items:
            if bucket not in known:
                raise DumpError(f"dump holds unknown bucket {bucket!r}")
            txn.put(bucket, key, value)
        txn.commit()


def records(chunks: Iterable[bytes]) -> Iterator[tuple[str, bytes, bytes]]:
    """The dump's records; DumpError, after the last, if the trailer disagrees."""
    reader = _Reader(chunks)
    if reader.take(len(MAGIC)) != MAGIC:
        raise DumpError("not a kvcore backend dump (bad magic)")
    crc, count = 0, 0
    while (n := reader.take(1)[0]) != 0:
        name = reader.take(n)
        key = reader.take(_LEN32.unpack(reader.take(4))[0])
        value = reader.take(_LEN32.unpack(reader.take(4))[0])
        yield name.decode(), key, value
        crc = zlib.crc32(_record(name, key, value), crc)
        count += 1
    want_count, want_crc = struct.unpack(">QI", reader.take(12))
    if (count, crc) != (want_count, want_crc):
        raise DumpError(f"dump is damaged: {count} records read, trailer says {want_count}")
    if reader.take_rest().strip(b"\0"):
        raise DumpError("dump has bytes after its trailer")


def _record(bucket: bytes, key: bytes, value: bytes) -> bytes:
    return b"".join(
        (bytes([len(bucket)]), bucket, _LEN32.pack(len(key)), key, _LEN32.pack(len(value)), value)
    )


class _Reader:
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buf = bytearray()

    def take(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise DumpError("dump ends early")
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def take_rest(self) -> bytes:
        rest = bytes(self._buf) + b"".join(self._chunks)
        self._buf.clear()
        return rest
