"""Record framing: encode records into a batch buffer, decode one segment's bytes.

This module knows frames and the crc chain only; which stops are a torn tail and
which are corruption is decided by the caller (see ``repair.py``).
"""

from __future__ import annotations

import enum
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from kvcore.wal.fileutil import ReadBuffer


class RecordType(enum.IntEnum):
    METADATA = 1
    ENTRY = 2
    HARD_STATE = 3
    CRC = 4
    SNAPSHOT = 5


HEADER = struct.Struct("<QII")  # length word, type, crc
_WORD = struct.Struct("<Q")
_LENGTH_MASK = (1 << 56) - 1
_TYPE_CRC_SIZE = 8  # the part of the header that the length word counts
_TYPES = frozenset(RecordType)


def chain_crc(prev: int, kind: int, payload: bytes | memoryview) -> int:
    """The crc of a record: type and payload, seeded with the previous record's crc."""
    return zlib.crc32(payload, zlib.crc32(kind.to_bytes(4, "little"), prev))


def append_record(buf: bytearray, kind: RecordType, payload: bytes, prev_crc: int) -> int:
    """Frame one record onto ``buf``; return its crc, the seed of the next record."""
    crc = chain_crc(prev_crc, kind, payload)
    length = _TYPE_CRC_SIZE + len(payload)
    pad = -length % 8
    buf += HEADER.pack(length | (pad << 56), kind, crc)
    buf += payload
    buf += bytes(pad)
    return crc


class Stop(enum.Enum):
    """Why decoding a segment stopped."""

    EOF = "end of file"  # the last record ends exactly at the end of the file
    ZERO = "zero length word"  # unwritten (preallocated) space
    BAD = "bad record"  # see SegmentReader.reason


@dataclass(frozen=True, slots=True)
class Record:
    kind: RecordType
    payload: bytes
    offset: int


class SegmentReader:
    """Iterates the valid records of one segment's bytes, checking frames and crc chain.

    After iteration: ``stop`` says why it ended, at byte ``end``; for ``Stop.BAD``,
    ``reason`` says what was wrong and ``bad_end`` is where the bad record would end
    (the file size when the file ends inside it).
    """

    def __init__(self, data: ReadBuffer) -> None:
        self.data = data
        self.end = 0
        self.stop = Stop.EOF
        self.reason = ""
        self.bad_end = len(data)
        self.crc = 0  # crc of the last valid record: the next segment carries it

    def __iter__(self) -> Iterator[Record]:
        data, size, off = self.data, len(self.data), 0
        while True:
            self.end = off
            if off == size:
                self.stop = Stop.EOF
                return
            if off + 8 > size:
                self._bad("partial length word", size)
                return
            (word,) = _WORD.unpack_from(data, off)
            if word == 0:
                self.stop = Stop.ZERO
                return
            length, pad = word & _LENGTH_MASK, word >> 56
            if length < _TYPE_CRC_SIZE or pad != -length % 8:
                # An aligned 8-byte word is written whole: garbage here was not torn.
                self._bad(f"invalid length word {word:#018x}", off + 8)
                return
            record_end = off + 8 + length + pad
            if record_end > size:
                self._bad(f"record of {length} bytes runs past the end of the file", size)
                return
            _, kind, crc = HEADER.unpack_from(data, off)
            payload = data[off + HEADER.size : off + 8 + length]
            if kind not in _TYPES:
                self._bad(f"unknown record type {kind}", record_end)
                return
            if chain_crc(self.crc, kind, payload) != crc:
                self._bad("crc mismatch", record_end)
                return
            yield Record(RecordType(kind), payload, off)
            self.crc = crc
            off = record_end

    def _bad(self, reason: str, bad_end: int) -> None:
        self.stop, self.reason, self.bad_end = Stop.BAD, reason, bad_end
