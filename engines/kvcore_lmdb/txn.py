"""Read and write transactions: thin wrappers over LMDB's own transactions.

LMDB gives both contracts directly: a read transaction is a true MVCC snapshot (it
pins the pages of the last commit before it began), and a write transaction sees its
own writes and becomes visible all at once on commit. What is added here is the key
encoding of :mod:`kvcore_lmdb.keys` and ranges over cursors. Transactions are begun
with ``buffers=False``, so every key and value handed out is a ``bytes`` copy that
outlives the transaction, never a view into the map.

Threads: read transactions may move between threads. A write transaction must end
(commit or abort) on the thread that began it: LMDB's writer lock is a mutex owned by
that thread, and releasing it from another one leaves it held, so the next ``write()``
would hang. Ending it elsewhere raises instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from itertools import islice

import lmdb

from kvcore_lmdb import keys


class MapFullError(RuntimeError):
    """The write did not fit in ``map_size``; the transaction was aborted."""


class LmdbReadTxn:
    def __init__(self, txn: lmdb.Transaction, dbs: Mapping[str, lmdb._Database]) -> None:
        self._txn = txn
        self._dbs = dbs
        self.open = True

    def get(self, bucket: str, key: bytes) -> bytes | None:
        record = self._txn.get(keys.record_key(key), db=self._dbs[bucket])
        if record is None or not keys.is_long(key):
            return record
        return keys.unpack_group(record).get(key[keys.PREFIX :])

    def range(
        self,
        bucket: str,
        start: bytes,
        end: bytes | None = None,
        limit: int = 0,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        cursor = self._txn.cursor(db=self._dbs[bucket])
        pairs = _backward(cursor, start, end) if reverse else _forward(cursor, start, end)
        return islice(pairs, limit) if limit > 0 else pairs

    def close(self) -> None:
        self.open = False
        self._txn.abort()

    def __enter__(self) -> LmdbReadTxn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# (bucket, record key) of records a write may have changed; see LmdbDefragmentation.
Touched = set[tuple[str, bytes]]


class LmdbWriteTxn(LmdbReadTxn):
    def __init__(
        self,
        txn: lmdb.Transaction,
        dbs: Mapping[str, lmdb._Database],
        note: Callable[[Touched], None] | None = None,
    ) -> None:
        super().__init__(txn, dbs)
        self._thread = threading.get_ident()
        # Told every record this txn changed, after it committed (never before: a
        # defragmentation's catch-up that reads a noted record must see its new value).
        self._note = note
        self._touched: Touched = set()

    def _on_own_thread(self) -> None:
        if threading.get_ident() != self._thread:
            raise RuntimeError("an LMDB write transaction must end on the thread that began it")

    def put(self, bucket: str, key: bytes, value: bytes) -> None:
        db = self._dbs[bucket]
        self._touch(bucket, key)
        if keys.is_long(key):
            self._update_group(db, key, value)
        else:
            self._write(lambda: self._txn.put(keys.record_key(key), value, db=db))

    def delete(self, bucket: str, key: bytes) -> None:
        db = self._dbs[bucket]
        self._touch(bucket, key)
        if keys.is_long(key):
            self._update_group(db, key, None)
        else:
            self._write(lambda: self._txn.delete(keys.record_key(key), db=db))

    def _touch(self, bucket: str, key: bytes) -> None:
        if self._note is not None:
            self._touched.add((bucket, keys.record_key(key)))

    def _update_group(self, db: lmdb._Database, key: bytes, value: bytes | None) -> None:
        record_key = keys.record_key(key)
        record = self._txn.get(record_key, db=db)
        entries = keys.unpack_group(record) if record is not None else {}
        suffix = key[keys.PREFIX :]
        if value is None:
            entries.pop(suffix, None)
        else:
            entries[suffix] = value
        if entries:
            self._write(lambda: self._txn.put(record_key, keys.pack_group(entries), db=db))
        else:
            self._write(lambda: self._txn.delete(record_key, db=db))

    def _write(self, op: Callable[[], object]) -> None:
        try:
            op()
        except lmdb.MapFullError as exc:
            # LMDB leaves the transaction unusable; growing the map would need every
            # transaction of the process closed, so the operator raises map_size instead.
            self._txn.abort()
            raise MapFullError(
                "LMDB map is full: raise engine.options.map_size (it costs no disk space "
                "until used) and restart"
            ) from exc

    def commit(self) -> None:
        self._on_own_thread()
        self._write(self._txn.commit)
        if self._note is not None and self._touched:
            self._note(self._touched)

    def abort(self) -> None:
        self._on_own_thread()
        self._txn.abort()

    def __enter__(self) -> LmdbWriteTxn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def _forward(cursor: lmdb.Cursor, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
    if not cursor.set_range(keys.record_key(start)):
        return
    for record_key, record in cursor.iternext():
        for key, value in keys.pairs(record_key, record, reverse=False):
            if end is not None and key >= end:
                return
            if key >= start:  # a group may begin below start
                yield key, value


def _backward(
    cursor: lmdb.Cursor, start: bytes, end: bytes | None
) -> Iterator[tuple[bytes, bytes]]:
    # Begin at the first record at or above ``end`` (it may hold keys below it) or,
    # with no such record, at the last one.
    positioned = end is not None and cursor.set_range(keys.record_key(end))
    if not positioned and not cursor.last():
        return
    for record_key, record in cursor.iterprev():
        for key, value in keys.pairs(record_key, record, reverse=True):
            if key < start:
                return
            if end is None or key < end:
                yield key, value
