"""The write transaction: pending changes in Python, one atomic WriteBatch on commit.

Puts and deletes go into a sorted overlay per bucket (``key -> value`` or
:data:`~kvcore_rocksdb.scan.ABSENT`); reads merge it over the live database, which no
one else changes while the (single) write transaction is open. ``commit`` hands the
overlay to the backend, which writes it as one WriteBatch across column families:
RocksDB applies a batch atomically, and its WAL recovers a batch whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import islice

from rocksdict import Rdict, ReadOptions
from sortedcontainers import SortedDict

from kvcore_rocksdb import scan

Changes = dict[str, SortedDict]


class RocksdbWriteTxn:
    def __init__(self, families: Mapping[str, Rdict], apply: Callable[[Changes], None]) -> None:
        self._families = families
        self._apply = apply
        self._changes: Changes | None = {}

    def _overlay(self, bucket: str) -> SortedDict:
        if self._changes is None:
            raise ValueError("transaction is closed")
        overlay = self._changes.get(bucket)
        if overlay is None:
            if bucket not in self._families:  # fail here, not on commit
                raise KeyError(bucket)
            overlay = self._changes[bucket] = SortedDict()
        return overlay

    def get(self, bucket: str, key: bytes) -> bytes | None:
        overlay = self._overlay(bucket)
        if key in overlay:
            value = overlay[key]
            return None if value is scan.ABSENT else value
        return self._families[bucket].get(key)

    def range(
        self,
        bucket: str,
        start: bytes,
        end: bytes | None = None,
        limit: int = 0,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        overlay = self._overlay(bucket)
        # No limit on the base: pending deletes may hide some of its pairs.
        base = scan.scan(self._families[bucket].iter(ReadOptions()), start, end, 0, reverse)
        pairs = scan.merge(base, overlay, start, end, reverse)
        return islice(pairs, limit) if limit > 0 else pairs

    def put(self, bucket: str, key: bytes, value: bytes) -> None:
        # bytes() so that a caller's bytearray cannot change what commit writes.
        self._overlay(bucket)[bytes(key)] = bytes(value)

    def delete(self, bucket: str, key: bytes) -> None:
        self._overlay(bucket)[bytes(key)] = scan.ABSENT

    def commit(self) -> None:
        if self._changes is None:
            raise ValueError("transaction is closed")
        changes, self._changes = self._changes, None
        self._apply(changes)

    def abort(self) -> None:
        self._changes = None

    def close(self) -> None:
        self.abort()

    def __enter__(self) -> RocksdbWriteTxn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()
