"""Ranges over RocksDB iterators and over a write transaction's pending changes.

A range never keeps a RocksDB iterator positioned across a ``yield``: it reads a chunk
of pairs, re-seeks past the last key for the next one. So one iterator can serve every
get and range of every reader that shares it (see :mod:`kvcore_rocksdb.read`), however
the caller interleaves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from rocksdict import RdictIter
from sortedcontainers import SortedDict

ABSENT: Final = object()
"""A pending delete in a write transaction's overlay."""

# Pairs read per chunk: few at first (a ``limit=1`` range reads one value, not hundreds),
# doubling up to a size that makes the re-seek per chunk negligible.
_FIRST_CHUNK: Final = 8
_MAX_CHUNK: Final = 1024

Pairs = Iterator[tuple[bytes, bytes]]


def get(iterator: RdictIter, key: bytes) -> bytes | None:
    iterator.seek(key)
    return iterator.value() if iterator.valid() and iterator.key() == key else None


def scan(iterator: RdictIter, start: bytes, end: bytes | None, limit: int, reverse: bool) -> Pairs:
    """Yield the iterator's pairs in ``[start, end)``, ascending or descending, at most
    ``limit`` of them when ``limit > 0``."""
    remaining = limit if limit > 0 else None
    size = _FIRST_CHUNK
    lo, hi = start, end
    while True:
        wanted = size if remaining is None else min(size, remaining)
        chunk = _chunk(iterator, lo, hi, reverse, wanted)
        yield from chunk
        if len(chunk) < wanted:
            return
        if remaining is not None:
            remaining -= wanted
            if remaining == 0:
                return
        size = min(2 * size, _MAX_CHUNK)
        if reverse:
            hi = chunk[-1][0]
        else:
            lo = chunk[-1][0] + b"\x00"  # the smallest key above the last one


def _chunk(
    iterator: RdictIter, lo: bytes, hi: bytes | None, reverse: bool, size: int
) -> list[tuple[bytes, bytes]]:
    pairs: list[tuple[bytes, bytes]] = []
    if reverse:
        if hi is None:
            iterator.seek_to_last()
        else:
            iterator.seek_for_prev(hi)  # lands on hi itself when present
            if iterator.valid() and iterator.key() >= hi:
                iterator.prev()
        while len(pairs) < size and iterator.valid():
            key = iterator.key()
            if key < lo:
                break
            pairs.append((key, iterator.value()))
            iterator.prev()
    else:
        iterator.seek(lo)
        while len(pairs) < size and iterator.valid():
            key = iterator.key()
            if hi is not None and key >= hi:
                break
            pairs.append((key, iterator.value()))
            iterator.next()
    return pairs


def merge(
    base: Pairs, overlay: SortedDict, start: bytes, end: bytes | None, reverse: bool
) -> Pairs:
    """``base`` with the pending changes of ``overlay`` applied, in range order.

    The overlay is looked up afresh at every step, so writes the caller makes while
    iterating are seen from there on, as they are in LMDB.
    """
    pending = next(base, None)
    last: bytes | None = None
    while True:
        key = _next_key(overlay, start, end, last, reverse)
        if pending is not None and (
            key is None or (pending[0] > key if reverse else pending[0] < key)
        ):
            last = pending[0]
            yield pending
            pending = next(base, None)
            continue
        if key is None:
            return
        if pending is not None and pending[0] == key:  # replaced or deleted
            pending = next(base, None)
        last = key
        value = overlay[key]
        if value is not ABSENT:
            yield key, value


def _next_key(
    overlay: SortedDict, start: bytes, end: bytes | None, last: bytes | None, reverse: bool
) -> bytes | None:
    """The overlay's first key in ``[start, end)`` beyond ``last`` in range order."""
    if reverse:
        keys = overlay.irange(start, end if last is None else last, (True, False), reverse=True)
    elif last is None:
        keys = overlay.irange(start, end, (True, False))
    else:
        keys = overlay.irange(last, end, (False, False))
    return next(keys, None)
