"""The commit log: one record per committed write transaction, appended, replayed on open.

A record is ``length`` (4 bytes) and ``crc32(payload)`` (4 bytes), big-endian, then
the payload: the transaction's operations one after another, each an op header
(bucket name length: 2 bytes, key length: 4, value length: 8, signed, -1 for a
delete) followed by the bucket name, the key and the value.

A process killed in the middle of an append leaves a torn tail: a record cut short,
or one whose crc does not match. Reading stops at the first such record and cuts the
file back to the last whole one, so the next append follows a whole record.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

Op = tuple[str, bytes, bytes | None]  # (bucket, key, value); value None deletes

_FRAME: Final = struct.Struct(">II")
_OP: Final = struct.Struct(">HIq")
_DELETE: Final = -1


def encode(ops: Iterable[Op]) -> bytes:
    parts: list[bytes] = []
    for bucket, key, value in ops:
        name = bucket.encode()
        size = _DELETE if value is None else len(value)
        parts += [_OP.pack(len(name), len(key), size), name, key, value or b""]
    payload = b"".join(parts)
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def decode(payload: bytes) -> Iterator[Op]:
    pos = 0
    while pos < len(payload):
        name_size, key_size, value_size = _OP.unpack_from(payload, pos)
        pos += _OP.size
        bucket = payload[pos : pos + name_size].decode()
        pos += name_size
        key = payload[pos : pos + key_size]
        pos += key_size
        value = None
        if value_size != _DELETE:
            value = payload[pos : pos + value_size]
            pos += value_size
        yield bucket, key, value


def whole_records(path: Path) -> list[bytes]:
    """The payloads of every whole record in ``path``; a torn tail is cut off."""
    data = path.read_bytes()
    payloads, pos = [], 0
    while pos + _FRAME.size <= len(data):
        size, crc = _FRAME.unpack_from(data, pos)
        payload = data[pos + _FRAME.size : pos + _FRAME.size + size]
        if len(payload) < size or zlib.crc32(payload) != crc:
            break
        payloads.append(payload)
        pos += _FRAME.size + size
    if pos < len(data):
        os.truncate(path, pos)
    return payloads


def append(fd: int, record: bytes) -> None:
    """Write all of ``record`` at the end of the file (``fd`` is opened with O_APPEND)."""
    view = memoryview(record)
    while view:
        view = view[os.write(fd, view) :]
