"""dictlog's transactions: reads over committed dictionaries, writes over copies of them."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING

from sortedcontainers import SortedDict

from kvcore_dictlog.log import Op

if TYPE_CHECKING:
    from kvcore_dictlog.engine import DictlogBackend

State = dict[str, SortedDict]  # bucket -> key -> value; committed ones are never changed


class DictlogReadTxn:
    def __init__(self, state: State) -> None:
        self._state: State | None = state

    def _bucket(self, bucket: str) -> SortedDict:
        if self._state is None:
            raise ValueError("transaction is closed")
        return self._state[bucket]

    def get(self, bucket: str, key: bytes) -> bytes | None:
        return self._bucket(bucket).get(key)

    def range(
        self,
        bucket: str,
        start: bytes,
        end: bytes | None = None,
        limit: int = 0,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        data = self._bucket(bucket)
        keys = data.irange(start, end, inclusive=(True, False), reverse=reverse)
        # A list, not a generator: a write txn may change the bucket while the caller
        # is still iterating.
        return iter([(key, data[key]) for key in islice(keys, limit or None)])

    def close(self) -> None:
        self._state = None

    def __enter__(self) -> DictlogReadTxn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DictlogWriteTxn(DictlogReadTxn):
    """Writes go to copies of the buckets they touch; commit logs them and swaps them in."""

    def __init__(self, backend: DictlogBackend, state: State) -> None:
        super().__init__(dict(state))
        self._backend = backend
        self._ops: list[Op] = []
        self._copied: set[str] = set()

    def _writable(self, bucket: str) -> SortedDict:
        data = self._bucket(bucket)
        if bucket not in self._copied:
            data = self._state[bucket] = data.copy()
            self._copied.add(bucket)
        return data

    def put(self, bucket: str, key: bytes, value: bytes) -> None:
        key, value = bytes(key), bytes(value)  # a caller's bytearray may change later
        self._writable(bucket)[key] = value
        self._ops.append((bucket, key, value))

    def delete(self, bucket: str, key: bytes) -> None:
        key = bytes(key)
        self._writable(bucket).pop(key, None)
        self._ops.append((bucket, key, None))

    def commit(self) -> None:
        if self._state is None:
            raise ValueError("transaction is closed")
        self._backend.publish(self._state, self._ops)
        self.close()

    def abort(self) -> None:
        self.close()

    def __enter__(self) -> DictlogWriteTxn:
        return self
