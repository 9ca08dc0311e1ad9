"""A set of watchers, found by the key an event is on (etcd's watcherGroup)."""

from __future__ import annotations

from collections.abc import Iterator

from kvcore.watch.watcher import Watcher


class WatcherGroup:
    """Single-key watchers in a dict by key; range watchers by their (key, end) pair, so
    that finding a key's watchers costs one lookup plus one test per distinct range.
    Iteration follows the order watchers were added."""

    def __init__(self) -> None:
        self._all: dict[Watcher, None] = {}
        self._by_key: dict[bytes, dict[Watcher, None]] = {}
        self._by_range: dict[tuple[bytes, bytes], dict[Watcher, None]] = {}

    def __len__(self) -> int:
        return len(self._all)

    def __contains__(self, watcher: object) -> bool:
        return watcher in self._all

    def __iter__(self) -> Iterator[Watcher]:
        return iter(self._all)

    def add(self, watcher: Watcher) -> None:
        if watcher in self._all:
            raise RuntimeError(f"watcher {watcher.id} added to a group twice")
        self._all[watcher] = None
        self._bucket(watcher, create=True)[watcher] = None

    def remove(self, watcher: Watcher) -> bool:
        """Take ``watcher`` out; False if it was not in the group."""
        if watcher not in self._all:
            return False
        del self._all[watcher]
        bucket = self._bucket(watcher, create=False)
        del bucket[watcher]
        if not bucket:
            if watcher.end is None:
                del self._by_key[watcher.key]
            else:
                del self._by_range[(watcher.key, watcher.end)]
        return True

    def watchers_for(self, key: bytes) -> Iterator[Watcher]:
        """Every watcher whose keys include ``key``."""
        for bucket in self.buckets_for(key):
            yield from bucket

    def buckets_for(self, key: bytes) -> Iterator[dict[Watcher, None]]:
        """The watchers whose keys include ``key``, in groups that watch the same keys
        (a group is the group's own storage: do not change it while iterating)."""
        single = self._by_key.get(key)
        if single:
            yield single
        for (start, end), watchers in self._by_range.items():
            if start <= key and (not end or key < end):
                yield watchers

    def watches(self, key: bytes) -> bool:
        return next(self.watchers_for(key), None) is not None

    def _bucket(self, watcher: Watcher, create: bool) -> dict[Watcher, None]:
        if watcher.end is None:
            table: dict = self._by_key
            slot: object = watcher.key
        else:
            table = self._by_range
            slot = (watcher.key, watcher.end)
        if create:
            return table.setdefault(slot, {})
        return table[slot]
