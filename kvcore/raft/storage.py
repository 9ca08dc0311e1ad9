"""The read-only log storage the raft core reads through, and an in-memory twin.

Raft never writes to Storage. The driver writes what each Ready asks (entries, hard
state, snapshot) to its durable store, and Storage is the view of that store. Index 0
is a sentinel: a fresh log is empty with first_index() == 1 and last_index() == 0.
"""

from __future__ import annotations

from typing import Protocol

from kvcore.raft.errors import RaftError
from kvcore.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMetadata


class StorageError(RaftError):
    """Base of the errors a Storage may raise."""


class CompactedError(StorageError):
    """The requested index is at or below the snapshot: it was compacted away."""


class UnavailableError(StorageError):
    """The requested index is above last_index()."""


class SnapshotTemporarilyUnavailableError(StorageError):
    """A snapshot is being produced; raft will ask again later."""


class SnapshotOutOfDateError(StorageError):
    """A write referred to a snapshot older than the one the storage holds."""


class Storage(Protocol):
    """What the raft core reads. Every method is called on the raft thread only.

    Implementations must reflect only durable state: raft relies on Storage for the
    entries it has been told are persisted (via Ready), never for unpersisted ones.
    Returned objects are treated as read-only by raft and may be shared.
    """

    def initial_state(self) -> tuple[HardState, ConfState]:
        """The persisted HardState and the ConfState of the newest snapshot (or the
        bootstrap ConfState). Called once when a RawNode is created."""
        ...

    def entries(self, lo: int, hi: int, max_size: int | None = None) -> list[Entry]:
        """Entries with index in [lo, hi), in order and contiguous.

        If max_size is given, stop before the total size of returned entries would
        exceed it, but always return at least one entry when the range is non-empty.
        Raise CompactedError if lo <= the snapshot index, UnavailableError if the log
        has no entries after the snapshot. hi <= last_index() + 1 is guaranteed.
        """
        ...

    def term(self, i: int) -> int:
        """Term of entry i, for i in [first_index() - 1, last_index()]; the term of
        first_index() - 1 is the snapshot's term. Raise CompactedError below that
        range and UnavailableError above it."""
        ...

    def first_index(self) -> int:
        """Index of the first entry available via entries(): snapshot index + 1."""
        ...

    def last_index(self) -> int:
        """Index of the last entry, or the snapshot index when no entry follows it."""
        ...

    def snapshot(self) -> Snapshot:
        """The newest snapshot, to send to a follower that is too far behind. May
        raise SnapshotTemporarilyUnavailableError while one is being produced."""
        ...


def entry_size(e: Entry) -> int:
    """Approximate encoded size, used for message and batch size limits."""
    return len(e.data) + 24


def limit_size(ents: list[Entry], max_size: int | None) -> list[Entry]:
    """The longest prefix of ents within max_size bytes, but never empty."""
    if max_size is None or not ents:
        return ents
    total = 0
    for i, e in enumerate(ents):
        total += entry_size(e)
        if total > max_size and i > 0:
            return ents[:i]
    return ents


class MemoryStorage:
    """Storage held in memory: the reference implementation and the test double.

    ents[0] is a dummy entry carrying the snapshot's index and term, so term() of the
    snapshot index works without a special case.
    """

    def __init__(self) -> None:
        self._hard_state = HardState()
        self._snapshot = Snapshot()
        self._ents: list[Entry] = [Entry(term=0, index=0)]

    # -- Storage (reads) -------------------------------------------------------

    def initial_state(self) -> tuple[HardState, ConfState]:
        cs = self._snapshot.metadata.conf_state
        return (
            HardState(self._hard_state.term, self._hard_state.vote, self._hard_state.commit),
            ConfState(list(cs.voters), list(cs.learners)),
        )

    def entries(self, lo: int, hi: int, max_size: int | None = None) -> list[Entry]:
        offset = self._ents[0].index
        if lo <= offset:
            raise CompactedError(f"index {lo} is compacted (snapshot at {offset})")
        if hi > self.last_index() + 1:
            raise ValueError(f"entries hi {hi} beyond last index {self.last_index()}")
        if len(self._ents) == 1:
            raise UnavailableError("no entries after the snapshot")
        return limit_size(self._ents[lo - offset : hi - offset], max_size)

    def term(self, i: int) -> int:
        offset = self._ents[0].index
        if i < offset:
            raise CompactedError(f"index {i} is compacted (snapshot at {offset})")
        if i - offset >= len(self._ents):
            raise UnavailableError(f"index {i} is beyond last index {self.last_index()}")
        return self._ents[i - offset].term

    def first_index(self) -> int:
        return self._ents[0].index + 1

    def last_index(self) -> int:
        return self._ents[0].index + len(self._ents) - 1

    def snapshot(self) -> Snapshot:
        return self._snapshot

    # -- writes (driver only) --------------------------------------------------

    def set_hard_state(self, hs: HardState) -> None:
        """Persist the term, vote and commit index from a Ready."""
        self._hard_state = HardState(hs.term, hs.vote, hs.commit)

    def apply_snapshot(self, snap: Snapshot) -> None:
        """Replace the whole log with snap (from Ready.snapshot). Entries the snapshot
        covers or contradicts are dropped. Raise SnapshotOutOfDateError if snap is not
        newer than the snapshot held."""
        if snap.metadata.index <= self._snapshot.metadata.index:
            raise SnapshotOutOfDateError(
                f"snapshot {snap.metadata.index} <= held {self._snapshot.metadata.index}"
            )
        self._snapshot = snap
        self._ents = [Entry(term=snap.metadata.term, index=snap.metadata.index)]

    def create_snapshot(self, index: int, conf_state: ConfState, data: bytes) -> Snapshot:
        """Record the application's state as of applied index `index` (which must be in
        the log) as the newest snapshot, and return it. Does not compact; call compact
        afterwards to drop the entries it covers."""
        if index <= self._snapshot.metadata.index:
            raise SnapshotOutOfDateError(f"snapshot {index} is not newer than the held one")
        if index > self.last_index():
            raise ValueError(f"snapshot index {index} beyond last index {self.last_index()}")
        meta = SnapshotMetadata(
            index=index,
            term=self.term(index),
            conf_state=ConfState(list(conf_state.voters), list(conf_state.learners)),
        )
        self._snapshot = Snapshot(metadata=meta, data=data)
        return self._snapshot

    def compact(self, index: int) -> None:
        """Drop entries before `index`; entry `index` becomes the dummy. The caller must
        not compact past its applied index nor past the newest snapshot it can serve."""
        offset = self._ents[0].index
        if index <= offset:
            raise CompactedError(f"index {index} already compacted (at {offset})")
        if index > self.last_index():
            raise ValueError(f"compact {index} beyond last index {self.last_index()}")
        i = index - offset
        self._ents = [Entry(term=self._ents[i].term, index=index), *self._ents[i + 1 :]]

    def append(self, entries: list[Entry]) -> None:
        """Persist entries from a Ready. An entry at an index already held replaces it
        and everything after it (raft truncates a conflicting suffix this way); the
        entries must be contiguous with the log."""
        if not entries:
            return
        first = self.first_index()
        if entries[-1].index < first:
            return  # all already compacted
        if entries[0].index < first:
            entries = entries[first - entries[0].index :]
        offset = entries[0].index - self._ents[0].index
        if offset > len(self._ents):
            raise ValueError(
                f"missing log entries: last {self.last_index()}, appending {entries[0].index}"
            )
        # In place: copying the whole log per Ready cost O(log length) per write batch.
        del self._ents[offset:]
        self._ents.extend(entries)
