"""The raft log: persisted entries (Storage) followed by unpersisted ones (Unstable).

Invariant: applied <= committed <= last_index(). Indexes below first_index() are
compacted into a snapshot.
"""

from __future__ import annotations

from kvcore.raft.storage import CompactedError, Storage, UnavailableError, limit_size
from kvcore.raft.types import Entry, Snapshot
from kvcore.raft.unstable import Unstable


class RaftLog:
    def __init__(self, storage: Storage, max_next_ents_size: int | None = None) -> None:
        self.storage = storage
        first = storage.first_index()
        last = storage.last_index()
        self.unstable = Unstable(last + 1)
        self.committed = first - 1
        self.applied = first - 1
        self.max_next_ents_size = max_next_ents_size

    # -- indexes and terms -----------------------------------------------------

    def first_index(self) -> int:
        snapshot = self.unstable.snapshot
        if snapshot is not None:
            return snapshot.metadata.index + 1
        return self.storage.first_index()

    def last_index(self) -> int:
        i = self.unstable.maybe_last_index()
        return i if i is not None else self.storage.last_index()

    def term(self, i: int) -> int:
        """Term of entry i; 0 outside [first_index()-1, last_index()] unless compacted,
        which raises CompactedError (the caller then needs a snapshot)."""
        dummy = self.first_index() - 1
        if i < dummy:
            raise CompactedError(f"index {i} is compacted")
        if i > self.last_index():
            return 0
        t = self.unstable.maybe_term(i)
        if t is not None:
            return t
        try:
            return self.storage.term(i)
        except UnavailableError:
            return 0

    def term_or_zero(self, i: int) -> int:
        try:
            return self.term(i)
        except CompactedError:
            return 0

    def last_term(self) -> int:
        return self.term(self.last_index())

    def match_term(self, i: int, t: int) -> bool:
        return self.term_or_zero(i) == t

    def is_up_to_date(self, last_index: int, term: int) -> bool:
        """Is a log ending at (last_index, term) at least as new as ours? (vote rule)"""
        lt = self.last_term()
        return term > lt or (term == lt and last_index >= self.last_index())

    # -- appending ---------------------------------------------------------------

    def maybe_append(
        self, index: int, log_term: int, committed: int, ents: list[Entry]
    ) -> int | None:
        """Follower side of APP: if our log has (index, log_term), take ents after it
        (dropping a conflicting suffix of ours) and return the new last index."""
        if not self.match_term(index, log_term):
            return None
        last_new = index + len(ents)
        ci = self.find_conflict(ents)
        if ci:
            if ci <= self.committed:
                raise AssertionError(f"conflict at {ci} <= committed {self.committed}")
            self.append(ents[ci - index - 1 :])
        self.commit_to(min(committed, last_new))
        return last_new

    def append(self, ents: list[Entry]) -> int:
        if ents:
            if ents[0].index - 1 < self.committed:
                raise AssertionError(
                    f"append at {ents[0].index} would rewrite committed {self.committed}"
                )
            self.unstable.truncate_and_append(ents)
        return self.last_index()

    def find_conflict(self, ents: list[Entry]) -> int:
        """Index of the first entry of ents that we lack or hold with another term."""
        for e in ents:
            if not self.match_term(e.index, e.term):
                return e.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """The largest (i, term(i)) with i <= index and term(i) <= term: the leader may
        skip every index above it when backing up a rejected append."""
        while index > 0:
            try:
                t = self.term(index)
            except CompactedError:
                return index, 0
            if t <= term:
                return index, t
            index -= 1
        return 0, 0

    # -- commit and apply ----------------------------------------------------------

    def commit_to(self, to: int) -> None:
        if to > self.committed:
            if to > self.last_index():
                raise AssertionError(f"commit {to} beyond last index {self.last_index()}")
            self.committed = to

    def maybe_commit(self, max_index: int, term: int) -> bool:
        """Commit up to max_index only if that entry is from `term` (raft §5.4.2)."""
        if max_index > self.committed and self.term_or_zero(max_index) == term:
            self.commit_to(max_index)
            return True
        return False

    def applied_to(self, i: int) -> None:
        if i == 0:
            return
        if i > self.committed or i < self.applied:
            raise AssertionError(f"applied {i} outside [{self.applied}, {self.committed}]")
        self.applied = i

    def has_next_entries(self) -> bool:
        return self.committed > max(self.applied, self.first_index() - 1)

    def next_entries(self) -> list[Entry]:
        """Committed entries not yet applied, within max_next_ents_size."""
        lo = max(self.applied + 1, self.first_index())
        if self.committed + 1 > lo:
            return self.slice(lo, self.committed + 1, self.max_next_ents_size)
        return []

    # -- persistence bookkeeping ---------------------------------------------------

    def unstable_entries(self) -> list[Entry]:
        return list(self.unstable.entries)

    def last_stable_index(self) -> int:
        """The last index persisted and still part of this log (0 while a snapshot
        that replaces the log awaits persisting)."""
        if self.unstable.snapshot is not None:
            return 0
        return min(self.unstable.offset - 1, self.last_index())

    def stable_to(self, i: int, t: int) -> None:
        self.unstable.stable_to(i, t)

    def stable_snap_to(self, i: int) -> None:
        self.unstable.stable_snap_to(i)

    def snapshot(self) -> Snapshot:
        if self.unstable.snapshot is not None:
            return self.unstable.snapshot
        return self.storage.snapshot()

    def restore(self, snap: Snapshot) -> None:
        self.committed = snap.metadata.index
        self.unstable.restore(snap)

    # -- reading -------------------------------------------------------------------

    def entries(self, lo: int, max_size: int | None = None) -> list[Entry]:
        if lo > self.last_index():
            return []
        return self.slice(lo, self.last_index() + 1, max_size)

    def slice(self, lo: int, hi: int, max_size: int | None = None) -> list[Entry]:
        """Entries [lo, hi) from storage then unstable; CompactedError if lo is gone."""
        if lo < self.first_index():
            raise CompactedError(f"index {lo} is compacted")
        if hi > self.last_index() + 1:
            raise ValueError(f"slice [{lo}, {hi}) beyond last index {self.last_index()}")
        if lo >= hi:
            return []
        ents: list[Entry] = []
        off = self.unstable.offset
        if lo < off:
            stored = self.storage.entries(lo, min(hi, off), max_size)
            if len(stored) < min(hi, off) - lo:
                return stored  # hit the size limit inside storage
            ents = stored
        if hi > off:
            ents = ents + self.unstable.slice(max(lo, off), hi)
        return limit_size(ents, max_size)
