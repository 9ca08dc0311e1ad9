from __future__ import annotations

import pytest

from kvcore.raft.bootstrap import bootstrap
from kvcore.raft.storage import (
    CompactedError,
    MemoryStorage,
    SnapshotOutOfDateError,
    UnavailableError,
)
from kvcore.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMetadata


def ents(*terms_from: tuple[int, int]) -> list[Entry]:
    return [Entry(term=t, index=i) for i, t in terms_from]


def make(last: int = 5) -> MemoryStorage:
    s = MemoryStorage()
    s.append([Entry(term=1, index=i, data=b"x%d" % i) for i in range(1, last + 1)])
    return s


def test_empty_storage() -> None:
    s = MemoryStorage()
    assert (s.first_index(), s.last_index(), s.term(0)) == (1, 0, 0)
    hs, cs = s.initial_state()
    assert hs.is_empty() and cs == ConfState()
    with pytest.raises(UnavailableError):
        s.term(1)


def test_entries_range_and_size_limit() -> None:
    s = make()
    assert [e.index for e in s.entries(2, 5)] == [2, 3, 4]
    assert [e.index for e in s.entries(2, 5, max_size=0)] == [2]  # never empty
    with pytest.raises(CompactedError):
        s.entries(0, 2)
    with pytest.raises(ValueError):
        s.entries(1, 7)


def test_append_truncates_conflicting_suffix() -> None:
    s = make()
    s.append([Entry(term=2, index=4), Entry(term=2, index=5), Entry(term=2, index=6)])
    assert [s.term(i) for i in range(1, 7)] == [1, 1, 1, 2, 2, 2]
    with pytest.raises(ValueError):
        s.append([Entry(term=2, index=9)])  # a gap


def test_compact_and_snapshot() -> None:
    s = make()
    snap = s.create_snapshot(3, ConfState(voters=[1, 2]), b"state")
    assert (snap.metadata.index, snap.metadata.term) == (3, 1)
    s.compact(3)
    assert s.first_index() == 4 and s.term(3) == 1
    with pytest.raises(CompactedError):
        s.term(2)
    with pytest.raises(CompactedError):
        s.compact(3)
    with pytest.raises(SnapshotOutOfDateError):
        s.create_snapshot(2, ConfState(), b"")
    s.append([Entry(term=1, index=2)])  # already compacted: ignored
    assert s.last_index() == 5


def test_apply_snapshot_replaces_log() -> None:
    s = make()
    snap = Snapshot(SnapshotMetadata(index=10, term=3, conf_state=ConfState([1])), b"d")
    s.apply_snapshot(snap)
    assert (s.first_index(), s.last_index(), s.term(10)) == (11, 10, 3)
    assert s.initial_state()[1] == ConfState([1])
    with pytest.raises(SnapshotOutOfDateError):
        s.apply_snapshot(snap)
    with pytest.raises(UnavailableError):
        s.entries(11, 11)


def test_bootstrap() -> None:
    s = MemoryStorage()
    bootstrap(s, [3, 1, 2])
    hs, cs = s.initial_state()
    assert cs.voters == [1, 2, 3]
    # One index per founder, as etcd's founders start with one ConfChange each.
    assert hs == HardState(term=1, vote=0, commit=3)
    assert (s.first_index(), s.last_index()) == (4, 3)
    with pytest.raises(ValueError):
        bootstrap(s, [1])
