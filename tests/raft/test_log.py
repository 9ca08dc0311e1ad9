from __future__ import annotations

import pytest

from kvcore.raft.log import RaftLog
from kvcore.raft.storage import CompactedError, MemoryStorage
from kvcore.raft.types import ConfState, Entry, Snapshot, SnapshotMetadata


def log_with(terms: list[int], stored: int | None = None) -> RaftLog:
    """A log holding entries 1..len(terms); the first `stored` of them in storage."""
    s = MemoryStorage()
    stored = len(terms) if stored is None else stored
    ents = [Entry(term=t, index=i + 1, data=b"%d" % (i + 1)) for i, t in enumerate(terms)]
    s.append(ents[:stored])
    log = RaftLog(s)
    log.append(ents[stored:])
    return log


def test_indexes_span_storage_and_unstable() -> None:
    log = log_with([1, 1, 2, 2, 3], stored=3)
    assert (log.first_index(), log.last_index(), log.last_term()) == (1, 5, 3)
    assert [e.index for e in log.slice(2, 6)] == [2, 3, 4, 5]
    assert [e.index for e in log.slice(2, 6, max_size=0)] == [2]
    assert log.term(0) == 0 and log.term(9) == 0


def test_maybe_append_truncates_conflicts_only_above_commit() -> None:
    log = log_with([1, 1, 2, 2])
    log.commit_to(2)
    # (2, 1) matches; entry 3 conflicts (term 3 vs 2): the suffix from 3 is replaced.
    new = [Entry(term=3, index=3), Entry(term=3, index=4), Entry(term=3, index=5)]
    assert log.maybe_append(2, 1, 4, new) == 5
    assert [log.term(i) for i in range(1, 6)] == [1, 1, 3, 3, 3]
    assert log.committed == 4
    assert log.maybe_append(5, 2, 5, []) is None  # (5, 2) does not match
    with pytest.raises(AssertionError):
        log.maybe_append(1, 1, 5, [Entry(term=9, index=2)])  # would rewrite committed


def test_find_conflict_by_term() -> None:
    log = log_with([1, 1, 2, 2, 5, 5])
    assert log.find_conflict_by_term(6, 3) == (4, 2)
    assert log.find_conflict_by_term(6, 5) == (6, 5)
    assert log.find_conflict_by_term(3, 0) == (0, 0)


def test_commit_only_current_term() -> None:
    log = log_with([1, 2, 2])
    assert not log.maybe_commit(1, 2)  # entry 1 is from term 1
    assert log.maybe_commit(3, 2) and log.committed == 3


def test_next_entries_and_applied() -> None:
    log = log_with([1, 1, 1, 1])
    log.commit_to(3)
    assert [e.index for e in log.next_entries()] == [1, 2, 3]
    log.applied_to(2)
    assert [e.index for e in log.next_entries()] == [3]
    log.applied_to(3)
    assert not log.has_next_entries()
    with pytest.raises(AssertionError):
        log.applied_to(4)


def test_stable_to_ignores_replaced_entries() -> None:
    log = log_with([1, 1], stored=0)
    log.stable_to(2, 7)  # wrong term: the entries were replaced since
    assert len(log.unstable_entries()) == 2
    log.stable_to(1, 1)
    assert [e.index for e in log.unstable_entries()] == [2]


def test_restore_snapshot_and_compaction() -> None:
    log = log_with([1, 1, 1])
    snap = Snapshot(SnapshotMetadata(index=10, term=4, conf_state=ConfState([1])), b"")
    log.restore(snap)
    assert (log.first_index(), log.last_index(), log.committed) == (11, 10, 10)
    assert log.term(10) == 4
    with pytest.raises(CompactedError):
        log.term(9)
    with pytest.raises(CompactedError):
        log.slice(5, 10)
    assert log.snapshot() is snap
