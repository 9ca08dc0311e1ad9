"""The index seam: key -> revisions, with generations and tombstones (etcd's treeIndex).

The store asks the index which revision of which key is visible at a revision, then
reads that version from the key bucket. The index lives in memory and is rebuilt from
the key bucket when the store opens, so an implementation needs no persistence.

Ranges take etcd's end-key convention: ``end=None`` means the single key ``key``;
``end=b""`` means every key from ``key`` on; otherwise ``[key, end)`` bytewise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from sortedcontainers import SortedDict

from kvcore.mvcc.key_index import KeyAt, KeyIndex
from kvcore.mvcc.revision import Revision


class Index(Protocol):
    """Keys and their revisions. Calls come from one thread; no locking is expected."""

    def get(self, key: bytes, at_rev: int) -> KeyAt | None:
        """``key``'s state at main revision ``at_rev``; None if it did not exist then."""

    def range(
        self, key: bytes, end: bytes | None, at_rev: int, limit: int = 0
    ) -> list[tuple[bytes, Revision]]:
        """The keys that existed at ``at_rev``, in key order, each with its last revision.

        At most ``limit`` pairs when ``limit > 0``.
        """

    def count(self, key: bytes, end: bytes | None, at_rev: int) -> int:
        """How many keys :meth:`range` would return without a limit."""

    def put(self, key: bytes, rev: Revision) -> None:
        """Record a put of ``key`` at ``rev``, newer than all of its revisions."""

    def restore(self, key: bytes, created: Revision, modified: Revision, version: int) -> None:
        """Record a key's oldest surviving version when rebuilding from storage.

        Only valid for a key the index does not know yet; later versions follow as
        :meth:`put` and :meth:`tombstone`.
        """

    def known(self, key: bytes) -> bool:
        """Whether the index holds any revision of ``key``, deleted or not."""

    def tombstone(self, key: bytes, rev: Revision) -> bool:
        """Record a delete of ``key`` at ``rev``; False (and no change) if it is absent now."""

    def revisions_since(self, key: bytes, end: bytes | None, rev: int) -> list[Revision]:
        """Every change at main revision ``rev`` or later, in revision order.

        Within one key and one main revision only the last change is listed.
        """

    def compact(self, rev: int) -> set[Revision]:
        """Drop the history at or below ``rev``; return what must stay of it in storage.

        Returned: for each key alive at ``rev``, the revision of its value at ``rev``.
        Revisions above ``rev`` are untouched. Keys left with no history disappear.
        """

    def keep(self, rev: int) -> set[Revision]:
        """The revisions :meth:`compact` would keep at or below ``rev``, changing nothing."""


class TreeIndex:
    """:class:`Index` over a SortedDict of key -> :class:`KeyIndex`."""

    def __init__(self) -> None:
        self._keys: SortedDict = SortedDict()

    def get(self, key: bytes, at_rev: int) -> KeyAt | None:
        ki = self._keys.get(key)
        return None if ki is None else ki.get(at_rev)

    def range(
        self, key: bytes, end: bytes | None, at_rev: int, limit: int = 0
    ) -> list[tuple[bytes, Revision]]:
        found: list[tuple[bytes, Revision]] = []
        for ki in self._key_indexes(key, end):
            at = ki.get(at_rev)
            if at is None:
                continue
            found.append((ki.key, at.modified))
            if len(found) == limit:
                break
        return found

    def count(self, key: bytes, end: bytes | None, at_rev: int) -> int:
        return sum(1 for ki in self._key_indexes(key, end) if ki.exists(at_rev))

    def put(self, key: bytes, rev: Revision) -> None:
        ki = self._keys.get(key)
        if ki is None:
            ki = self._keys[key] = KeyIndex(key)
        ki.put(rev)

    def restore(self, key: bytes, created: Revision, modified: Revision, version: int) -> None:
        ki = self._keys[key] = KeyIndex(key)
        ki.restore(created, modified, version)

    def known(self, key: bytes) -> bool:
        return key in self._keys

    def tombstone(self, key: bytes, rev: Revision) -> bool:
        ki = self._keys.get(key)
        return ki is not None and ki.tombstone(rev)

    def revisions_since(self, key: bytes, end: bytes | None, rev: int) -> list[Revision]:
        revs = [r for ki in self._key_indexes(key, end) for r in ki.since(rev)]
        return sorted(revs)

    def compact(self, rev: int) -> set[Revision]:
        available: set[Revision] = set()
        emptied = []
        for key, ki in self._keys.items():
            ki.compact(rev, available)
            if ki.is_empty():
                emptied.append(key)
        for key in emptied:
            del self._keys[key]
        return available

    def keep(self, rev: int) -> set[Revision]:
        available: set[Revision] = set()
        for ki in self._keys.values():
            ki.keep(rev, available)
        return available

    def _key_indexes(self, key: bytes, end: bytes | None) -> Iterator[KeyIndex]:
        if end is None:
            ki = self._keys.get(key)
            if ki is not None:
                yield ki
            return
        stop = end or None  # b"" means no upper bound
        if stop is not None and stop <= key:
            return
        for k in self._keys.irange(key, stop, inclusive=(True, False)):
            yield self._keys[k]
