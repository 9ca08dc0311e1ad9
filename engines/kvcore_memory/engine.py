"""The memory engine: one SortedDict per bucket, snapshot reads by per-reader overlays.

How a read transaction stays a snapshot without copying the store: every open reader
registers with the backend. A commit, before changing a key, records the key's current
value (or :data:`ABSENT`) into the overlay of every registered reader that has not yet
recorded that key. A reader looks in its overlay first and in the live dictionaries
after, so it sees the state of its opening instant. A commit costs O(changed keys x
open readers); readers cost nothing while no commit happens. Closing a reader (or
dropping it: the registry holds readers weakly) frees its overlay.

The write transaction buffers its puts and deletes in an overlay of its own and
applies them to the live dictionaries in ``commit``, in one step that nothing else
can interleave with (a backend is used from one thread at a time).

Detached readers (``read_detached``, used from another thread) read and close under
the backend's lock, which commits hold while they apply: each step of a range is
exact at one instant, as on the backend's own thread.

Nothing is kept across ``close``: the engine declares ``persistent = False``.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, Final

import pydantic
from sortedcontainers import SortedDict

from kvcore_memory.view import ABSENT, lookup, scan


class MemoryOptions(pydantic.BaseModel):
    """The memory engine takes no options; unknown ones are an error."""

    model_config = pydantic.ConfigDict(extra="forbid")


class MemoryEngine:
    """The engine plugin object: ``name``, ``options_model`` and ``open``."""

    name: ClassVar[str] = "memory"
    options_model: ClassVar[type[pydantic.BaseModel]] = MemoryOptions
    persistent: ClassVar[bool] = False

    def open(self, path: Path, buckets: Sequence[str], options: Any) -> MemoryBackend:
        """Open an empty store with ``buckets``; ``path`` is not used."""
        return MemoryBackend(buckets)


class MemoryBackend:
    def __init__(self, buckets: Sequence[str]) -> None:
        self._data: dict[str, SortedDict] | None = {b: SortedDict() for b in buckets}
        self._readers: weakref.WeakSet[MemoryReadTxn] = weakref.WeakSet()
        self._live_bytes = 0
        self.lock = threading.Lock()  # commits against detached readers

    def _live(self) -> dict[str, SortedDict]:
        if self._data is None:
            raise ValueError("memory backend is closed")
        return self._data

    def read(self) -> MemoryReadTxn:
        txn = MemoryReadTxn(self, self._live())
        self._readers.add(txn)
        return txn

    def read_detached(self) -> MemoryReadTxn:
        with self.lock:
            txn = MemoryReadTxn(self, self._live(), self.lock)
            self._readers.add(txn)
        return txn

    def write(self) -> MemoryWriteTxn:
        return MemoryWriteTxn(self, self._live())

    def sync(self) -> None:
        """Nothing to flush: the memory engine keeps nothing across ``close``."""

    def size(self) -> int:
        """Bytes of keys and values held, live or kept for open readers' snapshots."""
        with self.lock:
            return self._live_bytes + sum(r.held_bytes() for r in list(self._readers))

    def size_in_use(self) -> int:
        return self._live_bytes

    def defragment(self) -> None:
        """Nothing to give back: deleted pairs are freed as soon as no reader needs them."""

    def start_defragment(self) -> MemoryDefragmentation:
        return MemoryDefragmentation()

    def close(self) -> None:
        for reader in list(self._readers):
            reader.close()
        self._data = None

    def forget(self, reader: MemoryReadTxn) -> None:
        self._readers.discard(reader)

    def apply_changes(self, changes: dict[str, dict[bytes, Any]]) -> None:
        """Apply a write transaction's changes, first saving old values for readers."""
        with self.lock:
            self._apply_locked(changes)

    def _apply_locked(self, changes: dict[str, dict[bytes, Any]]) -> None:
        live = self._live()
        readers = list(self._readers) if self._readers else ()
        grown = 0  # live bytes added, less those removed
        for bucket, pending in changes.items():
            data = live[bucket]
            for key, value in pending.items():
                old = data.get(key, ABSENT)
                for reader in readers:
                    reader.remember(bucket, key, old)
                if old is not ABSENT:
                    grown -= len(key) + len(old)
                if value is ABSENT:
                    data.pop(key, None)
                else:
                    data[key] = value
                    grown += len(key) + len(value)
        self._live_bytes += grown


_EMPTY: Final = SortedDict()  # read only: the overlay of a bucket no commit touched yet


class MemoryDefragmentation:
    """``kvcore.backend.Defragmentation`` with nothing to do (see ``defragment``)."""

    def run(self) -> None:
        """Nothing to compact."""

    def can_finish(self) -> bool:
        return True

    def finish(self) -> None:
        """Nothing to swap."""


# Pairs a detached reader takes per hold of the lock.
_DETACHED_STEP: Final = 1024


class MemoryReadTxn:
    def __init__(
        self,
        backend: MemoryBackend,
        live: dict[str, SortedDict],
        lock: threading.Lock | None = None,
    ) -> None:
        self._backend = backend
        self._live = live
        # Detached readers only; a reader on the backend's thread needs none.
        self._detached = lock is not None
        self._lock = lock if lock is not None else contextlib.nullcontext()
        # Per bucket, made on first need: most readers touch one bucket, many none
        # before they close. Once made, a bucket's overlay is never replaced, so a
        # range in progress keeps seeing what later commits record into it.
        self._overlay: dict[str, SortedDict] | None = {}

    def _bucket_overlay(self, bucket: str) -> SortedDict:
        if self._overlay is None:
            raise ValueError("transaction is closed")
        overlay = self._overlay.get(bucket)
        if overlay is None:
            overlay = self._overlay[bucket] = SortedDict()
        return overlay

    def _view(self, bucket: str) -> tuple[SortedDict, SortedDict]:
        return self._live[bucket], self._bucket_overlay(bucket)

    def remember(self, bucket: str, key: bytes, old: object) -> None:
        """Keep ``old`` as this snapshot's value of ``key`` unless one is kept already."""
        if self._overlay is not None:
            self._bucket_overlay(bucket).setdefault(key, old)

    def held_bytes(self) -> int:
        if self._overlay is None:
            return 0
        return sum(
            len(k) + (0 if v is ABSENT else len(v))
            for overlay in self._overlay.values()
            for k, v in overlay.items()
        )

    def get(self, bucket: str, key: bytes) -> bytes | None:
        with self._lock:
            if self._overlay is None:
                raise ValueError("transaction is closed")
            return lookup(self._live[bucket], self._overlay.get(bucket, _EMPTY), key)

    def range(
        self,
        bucket: str,
        start: bytes,
        end: bytes | None = None,
        limit: int = 0,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        with self._lock:
            pairs = scan(*self._view(bucket), start, end, limit, reverse)
        return self._held(pairs)

    def _held(self, pairs: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        # The generator's frame keeps this reader registered (the registry is weak)
        # for as long as the caller iterates, even if it dropped the transaction.
        if not self._detached:
            for pair in pairs:
                if self._overlay is None:
                    raise ValueError("transaction is closed")
                yield pair
            return
        # The scan advances only under the lock, which is never held across a yield.
        while True:
            with self._lock:
                if self._overlay is None:
                    raise ValueError("transaction is closed")
                step = list(islice(pairs, _DETACHED_STEP))
            if not step:
                return
            yield from step

    def close(self) -> None:
        with self._lock:
            self._overlay = None
            self._backend.forget(self)

    def __enter__(self) -> MemoryReadTxn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemoryWriteTxn:
    def __init__(self, backend: MemoryBackend, live: dict[str, SortedDict]) -> None:
        self._backend = backend
        self._live = live
        # Per bucket, made on first write: an apply batch touches two or three buckets.
        # Plain dicts (a put is one store, not a sorted insert); a range on this
        # transaction, which the store rarely does, sorts the bucket's pending writes.
        self._pending: dict[str, dict[bytes, Any]] | None = {}

    def _open(self) -> dict[str, dict[bytes, Any]]:
        if self._pending is None:
            raise ValueError("transaction is closed")
        return self._pending

    def _writable(self, bucket: str) -> dict[bytes, Any]:
        pending = self._open()
        writes = pending.get(bucket)
        if writes is None:
            if bucket not in self._live:
                raise KeyError(bucket)
            writes = pending[bucket] = {}
        return writes

    def get(self, bucket: str, key: bytes) -> bytes | None:
        return lookup(self._live[bucket], self._open().get(bucket) or _EMPTY, key)

    def range(
        self,
        bucket: str,
        start: bytes,
        end: bytes | None = None,
        limit: int = 0,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        writes = self._open().get(bucket)
        overlay = SortedDict(writes) if writes else _EMPTY
        return scan(self._live[bucket], overlay, start, end, limit, reverse)

    def put(self, bucket: str, key: bytes, value: bytes) -> None:
        # bytes() so that a caller's bytearray or memoryview cannot change stored data.
        self._writable(bucket)[bytes(key)] = bytes(value)

    def delete(self, bucket: str, key: bytes) -> None:
        self._writable(bucket)[bytes(key)] = ABSENT

    def commit(self) -> None:
        pending, self._pending = self._open(), None
        self._backend.apply_changes(pending)

    def abort(self) -> None:
        self._pending = None

    def close(self) -> None:
        self.abort()

    def __enter__(self) -> MemoryWriteTxn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()
