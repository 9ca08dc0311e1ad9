"""Snapshot files: save and load, streaming, broken files, the WAL's markers, purge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kvcore.raft.types import ConfState, Snapshot, SnapshotMetadata
from kvcore.wal import SnapshotCorruptError, SnapshotMarker, Snapshotter


def snapshot(index: int, term: int = 1, data: bytes | None = None) -> Snapshot:
    conf = ConfState(voters=[1, 2, 3], learners=[9])
    body = f"state at {index}".encode() * 10 if data is None else data
    return Snapshot(SnapshotMetadata(index=index, term=term, conf_state=conf), body)


def snap_names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_save_and_load(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path / "snap")
    assert snaps.load_newest() is None
    path = snaps.save(snapshot(10, term=2))
    assert path.name == "0000000000000002-000000000000000a.snap"
    assert snaps.load_newest() == snapshot(10, term=2)
    assert Snapshotter(tmp_path / "snap").load_newest() == snapshot(10, term=2)


def test_empty_data_and_no_members(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path)
    empty = Snapshot(SnapshotMetadata(index=1, term=1), b"")
    snaps.save(empty)
    assert snaps.load_newest() == empty


def test_newest_wins(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path)
    for index, term in [(5, 1), (30, 2), (12, 1), (31, 3)]:
        snaps.save(snapshot(index, term))
    assert snaps.load_newest() == snapshot(31, 3)


def test_broken_file_is_renamed_and_an_older_one_loaded(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path)
    snaps.save(snapshot(5))
    newest = snaps.save(snapshot(9))
    data = bytearray(newest.read_bytes())
    data[-3] ^= 1
    newest.write_bytes(data)
    assert snaps.load_newest() == snapshot(5)
    assert snap_names(tmp_path) == [
        "0000000000000001-0000000000000005.snap",
        "0000000000000001-0000000000000009.snap.broken",
    ]


@pytest.mark.parametrize("damage", ["header", "truncated", "short", "renamed"])
def test_every_kind_of_damage_is_caught(tmp_path: Path, damage: str) -> None:
    snaps = Snapshotter(tmp_path)
    path = snaps.save(snapshot(9))
    data = path.read_bytes()
    if damage == "header":
        path.write_bytes(data[:20] + bytes([data[20] ^ 1]) + data[21:])
    elif damage == "truncated":
        path.write_bytes(data[:-1])
    elif damage == "short":
        path.write_bytes(data[:10])
    else:
        path.rename(tmp_path / "0000000000000001-0000000000000008.snap")
    assert snaps.load_newest() is None
    assert all(name.endswith(".broken") for name in snap_names(tmp_path))


def test_only_markers_the_wal_knows(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path)
    snaps.save(snapshot(5))
    snaps.save(snapshot(9))  # saved, but the crash came before WAL.save_snapshot
    assert snaps.load_newest(only={SnapshotMarker(5, 1)}) == snapshot(5)
    assert snaps.load_newest(only=[]) is None
    assert len(snap_names(tmp_path)) == 2  # skipped is not broken


def test_streaming(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path)
    chunks = [bytes([i]) * 100_000 for i in range(30)]
    metadata = snapshot(40, 3).metadata
    snaps.save_stream(metadata, iter(chunks))
    assert snaps.load_newest_metadata() == metadata
    with snaps.open_data(SnapshotMarker(40, 3)) as f:
        assert f.read(100_000) == chunks[0]
        assert f.read() == b"".join(chunks[1:])


def test_open_data_checks_the_header(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path)
    path = snaps.save(snapshot(9))
    path.write_bytes(b"not a snapshot at all, but long enough")
    with pytest.raises(SnapshotCorruptError, match="header"):
        snaps.open_data(SnapshotMarker(9, 1))


def test_interrupted_save_leaves_nothing(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path)

    def failing() -> Iterator[bytes]:
        yield b"partial"
        raise OSError("disk gone")

    with pytest.raises(OSError):
        snaps.save_stream(snapshot(3).metadata, failing())
    assert snap_names(tmp_path) == []
    (tmp_path / "0000000000000001-0000000000000004.snap.tmp").write_bytes(b"crashed mid-save")
    Snapshotter(tmp_path)  # a restart removes what a crash left
    assert snap_names(tmp_path) == []


def test_purge_keeps_the_newest(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path)
    for index in range(1, 8):
        snaps.save(snapshot(index))
    snaps.purge(keep=3)
    assert snap_names(tmp_path) == [f"0000000000000001-{i:016x}.snap" for i in (5, 6, 7)]
    assert snaps.load_newest() == snapshot(7)
    snaps.purge(keep=0)
    assert snap_names(tmp_path) == []
