"""The WAL's API: round trips, batches, log truncation, reopen, segments and release."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kvcore.raft.types import Entry, EntryType, HardState
from kvcore.wal import WAL, SnapshotMarker, WalError


def entries(first: int, last: int, term: int = 1) -> list[Entry]:
    return [
        Entry(term, i, EntryType.NORMAL, f"{term}/{i}".encode()) for i in range(first, last + 1)
    ]


def segment_names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".wal")


def test_round_trip(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    ents = [*entries(1, 3), Entry(1, 4, EntryType.CONF_CHANGE, b"\x00" * 100)]
    with WAL.create(d, b"node=1;cluster=7") as wal:
        wal.save(HardState(term=1, vote=1, commit=2), ents)
    with WAL.open(d) as wal:
        got = wal.read_all()
    assert got.metadata == b"node=1;cluster=7"
    assert got.hard_state == HardState(term=1, vote=1, commit=2)
    assert got.entries == ents
    assert got.last_snapshot == SnapshotMarker(0, 0)


def test_create_is_atomic_and_refuses_an_existing_wal(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    WAL.create(d, b"m").close()
    assert segment_names(d) == ["0000000000000000-0000000000000000.wal"]
    assert not (tmp_path / "wal.tmp").exists()
    assert WAL.exists(d)
    with pytest.raises(WalError, match="not empty"):
        WAL.create(d, b"m")


def test_create_into_an_empty_directory_and_over_a_stale_temp(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    d.mkdir()
    (tmp_path / "wal.tmp").mkdir()
    (tmp_path / "wal.tmp" / "junk").write_bytes(b"x")
    WAL.create(d, b"m").close()
    assert WAL.open(d).read_all().metadata == b"m"


def test_empty_metadata_and_empty_entry_data(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"") as wal:
        wal.save(None, [Entry(1, 1)])
    assert WAL.open(d).read_all().entries == [Entry(1, 1)]


def test_many_batches(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m") as wal:
        for batch in range(200):
            first = batch * 5 + 1
            wal.save(HardState(term=1, vote=2, commit=first), entries(first, first + 4))
    with WAL.open(d) as wal:
        got = wal.read_all()
    assert got.entries == entries(1, 1000)
    assert got.hard_state == HardState(term=1, vote=2, commit=996)


def test_later_entries_replace_the_tail(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m") as wal:
        wal.save(None, entries(1, 10, term=1))
        wal.save(None, entries(5, 6, term=2))  # a new leader overwrote 5..10
        wal.save(None, entries(7, 8, term=2))
        wal.save(None, entries(8, 8, term=3))
    got = WAL.open(d).read_all().entries
    assert got == entries(1, 4, 1) + entries(5, 7, 2) + entries(8, 8, 3)


def test_reopen_and_append(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    WAL.create(d, b"m").close()
    for batch in range(5):
        with WAL.open(d) as wal:
            assert wal.read_all().entries == entries(1, batch * 3)
            assert wal.last_index == batch * 3
            wal.save(HardState(1, 1, batch), entries(batch * 3 + 1, batch * 3 + 3))
    assert WAL.open(d).read_all().hard_state == HardState(1, 1, 4)


def test_empty_save_writes_nothing(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m") as wal:
        wal.save(None, [])
        wal.save(HardState(), [])
        wal.save(HardState(2, 0, 0), [])
    assert WAL.open(d).read_all().hard_state == HardState(2, 0, 0)


def test_open_from_snapshot(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m") as wal:
        wal.save(None, entries(1, 20))
        wal.save_snapshot(SnapshotMarker(index=10, term=1))
        wal.save(None, entries(21, 25))
    with WAL.open(d, SnapshotMarker(10, 1)) as wal:
        got = wal.read_all()
    assert got.entries == entries(11, 25)
    assert got.last_snapshot == SnapshotMarker(10, 1)
    with pytest.raises(WalError, match="has term 1"):
        WAL.open(d, SnapshotMarker(10, 2))
    with pytest.raises(WalError, match="no snapshot marker at index 12"):
        WAL.open(d, SnapshotMarker(12, 1))


def test_overwrite_at_or_below_the_snapshot_drops_stale_entries_above_it(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m", segment_size=1024) as wal:
        wal.save(None, entries(1, 40))  # 31..40 end up in a segment started before 34
        wal.save(None, entries(30, 34, term=2))
        wal.save_snapshot(SnapshotMarker(34, 2))
    with WAL.open(d, SnapshotMarker(34, 2)) as wal:
        assert wal.read_all().entries == []
        assert wal.last_index == 34


def test_snapshot_from_the_leader_moves_the_log_past_it(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m", segment_size=4096) as wal:
        wal.save(None, entries(1, 3))
        wal.save_snapshot(SnapshotMarker(100, 4))
        assert wal.last_index == 100
        wal.save(HardState(4, 2, 101), entries(101, 400, term=4))
    with WAL.open(d, SnapshotMarker(100, 4)) as wal:
        assert wal.read_all().entries == entries(101, 400, term=4)


def test_segments_are_cut_named_and_carry_the_state(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"meta", segment_size=4096) as wal:
        for first in range(1, 1000, 10):
            wal.save(HardState(1, 1, first), entries(first, first + 9))
    names = segment_names(d)
    assert len(names) > 5
    seqs = [int(n[:16], 16) for n in names]
    firsts = [int(n[17:33], 16) for n in names]
    assert seqs == list(range(len(names)))
    assert firsts[0] == 0 and firsts == sorted(firsts) and firsts[1] % 10 == 1
    # A sealed segment keeps only its records, not its preallocation.
    assert all(os.path.getsize(d / n) < 4096 + 600 for n in names[:-1])
    with WAL.open(d) as wal:
        got = wal.read_all()
    assert got.entries == entries(1, 1000)
    assert got.hard_state == HardState(1, 1, 991)
    assert got.metadata == b"meta"


def test_truncation_across_segments(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m", segment_size=2048) as wal:
        for first in range(1, 300, 10):
            wal.save(None, entries(first, first + 9))
        wal.save(None, entries(50, 60, term=2))
        wal.save(None, entries(61, 200, term=2))
    assert WAL.open(d).read_all().entries == entries(1, 49) + entries(50, 200, 2)


def test_release_to_keeps_the_segment_holding_the_index(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m", segment_size=4096) as wal:
        for first in range(1, 1000, 10):
            wal.save(None, entries(first, first + 9))
        wal.save_snapshot(SnapshotMarker(500, 1))
        before = segment_names(d)
        wal.release_to(500)
        after = segment_names(d)
        wal.save(None, entries(1001, 1010))
    kept_firsts = [int(n[17:33], 16) for n in after]
    assert after == before[len(before) - len(after) :]
    assert kept_firsts[0] <= 500 < kept_firsts[1]
    with WAL.open(d, SnapshotMarker(500, 1)) as wal:
        assert wal.read_all().entries == entries(501, 1010)
    with pytest.raises(WalError, match="no WAL segment holds index 0"):
        WAL.open(d)


def test_release_never_deletes_the_last_segment(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m") as wal:
        wal.save(None, entries(1, 10))
        wal.release_to(1_000)
    assert WAL.open(d).read_all().entries == entries(1, 10)


def test_segments_are_preallocated(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m", segment_size=1 << 20):
        assert os.path.getsize(d / segment_names(d)[0]) == 1 << 20


def test_one_open_at_a_time(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    wal = WAL.create(d, b"m")
    with pytest.raises(WalError, match="in use"):
        WAL.open(d)
    wal.close()
    WAL.open(d).close()


def test_closed_wal_refuses_writes(tmp_path: Path) -> None:
    wal = WAL.create(tmp_path / "wal", b"m")
    wal.close()
    wal.close()
    with pytest.raises(WalError, match="closed"):
        wal.save(None, entries(1, 1))


def test_read_all_once(tmp_path: Path) -> None:
    with WAL.create(tmp_path / "wal", b"m") as wal:
        wal.read_all()
        with pytest.raises(WalError):
            wal.read_all()


def test_leftover_temp_segment_is_removed(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m") as wal:
        wal.save(None, entries(1, 5))
    (d / "0000000000000001-0000000000000006.wal.tmp").write_bytes(b"half a header")
    with WAL.open(d) as wal:
        assert wal.read_all().entries == entries(1, 5)
    assert segment_names(d) == ["0000000000000000-0000000000000000.wal"]
    assert not list(d.glob("*.tmp"))


def test_missing_middle_segment_is_an_error(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m", segment_size=2048) as wal:
        for first in range(1, 300, 10):
            wal.save(None, entries(first, first + 9))
    (d / segment_names(d)[1]).unlink()
    with pytest.raises(WalError, match="does not follow"):
        WAL.open(d)


def test_save_refuses_a_gap(tmp_path: Path) -> None:
    with WAL.create(tmp_path / "wal", b"m") as wal:
        wal.save(None, entries(1, 3))
        with pytest.raises(WalError, match="gap"):
            wal.save(None, entries(5, 6))
        with pytest.raises(WalError, match="gap"):
            wal.save(None, [*entries(4, 4), *entries(6, 6)])
        wal.save(None, entries(4, 6))
    assert WAL.open(tmp_path / "wal").read_all().entries == entries(1, 6)
