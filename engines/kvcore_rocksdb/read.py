"""Read transactions: a point in time made of RocksDB iterators, shared between commits.

A RocksDB iterator reads an implicit snapshot taken when it is created, whatever it
seeks to later. (rocksdict's ``Snapshot`` is not used: in 0.3.x its ``iter`` ignores
the snapshot and its ``[]`` raises a bare ``Exception`` for a missing key.) Iterators
of different column families created with no commit in between read the same state,
so a :class:`PointInTime` creates one per bucket on first use, and every read
transaction opened before the next commit shares it. Before a commit, the backend
creates the iterators still missing from the current point if a reader holds it
(:meth:`PointInTime.pin`), then starts a new point: no reader ever sees a later commit.
Ranges read iterators in chunks (:mod:`kvcore_rocksdb.scan`), which is what lets
readers share them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from rocksdict import Rdict, RdictIter, ReadOptions

from kvcore_rocksdb import scan


class PointInTime:
    def __init__(self, families: Mapping[str, Rdict]) -> None:
        self._families = families
        self._iterators: dict[str, RdictIter] | None = {}
        self.readers = 0
        self.retired = False  # a commit came after; held only by its readers

    def iterator(self, bucket: str) -> RdictIter:
        if self._iterators is None:
            raise ValueError("transaction is closed")
        iterator = self._iterators.get(bucket)
        if iterator is None:
            iterator = self._iterators[bucket] = self._families[bucket].iter(ReadOptions())
        return iterator

    def pin(self) -> None:
        """Create every missing iterator now, before a commit changes the state."""
        for bucket in self._families:
            self.iterator(bucket)

    def leave(self) -> None:
        self.readers -= 1
        if self.readers == 0 and self.retired:
            self.release()

    def release(self) -> None:
        """Drop the iterators: they pin memtables and files, and keep the DB open."""
        self._iterators = None


class RocksdbReadTxn:
    def __init__(self, point: PointInTime) -> None:
        self._point: PointInTime | None = point
        point.readers += 1

    def _at(self) -> PointInTime:
        if self._point is None:
            raise ValueError("transaction is closed")
        return self._point

    def get(self, bucket: str, key: bytes) -> bytes | None:
        return scan.get(self._at().iterator(bucket), key)

    def range(
        self,
        bucket: str,
        start: bytes,
        end: bytes | None = None,
        limit: int = 0,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        return scan.scan(self._at().iterator(bucket), start, end, limit, reverse)

    def close(self) -> None:
        if self._point is not None:
            self._point.leave()
            self._point = None

    def __del__(self) -> None:
        self.close()  # a dropped reader must not pin its point's files forever

    def __enter__(self) -> RocksdbReadTxn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
