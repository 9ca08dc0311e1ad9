"""The raft log on disk - WAL plus snapshot files - and the in-memory copy raft reads.

Layout of the log's own directory (``<data_dir>/member/raft/``): ``wal/`` (see
``kvcore.wal``) and ``snap/``. Nothing else lives there: a new member's first log is
built beside it and renamed into place whole.

Every method here blocks on disk except :meth:`DurableLog.mirror`; the driver calls
:meth:`persist` and :meth:`persist_snapshot` from its worker thread and :meth:`mirror`
on the event loop after them.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from kvcore.raft.storage import MemoryStorage
from kvcore.raft.types import Entry, HardState, Snapshot
from kvcore.wal import WAL, SnapshotMarker, Snapshotter, WalSnapshotMissingError
from kvcore.wal.fileutil import fsync_dir

_METADATA = struct.Struct(">QQ")  # member id, cluster id
SNAPSHOTS_KEPT = 5


@dataclass(slots=True, frozen=True)
class Identity:
    member_id: int
    cluster_id: int


class DurableLog:
    def __init__(self, wal: WAL, snapshotter: Snapshotter, storage: MemoryStorage) -> None:
        self._wal = wal
        self._snapshotter = snapshotter
        self.storage = storage

    @staticmethod
    def exists(log_dir: Path) -> bool:
        return WAL.exists(log_dir / "wal")

    @staticmethod
    def create(
        log_dir: Path, identity: Identity, first: Snapshot | None, segment_bytes: int
    ) -> None:
        """Write a new member's log: a founder's starts at the cluster's first snapshot,
        a joining member's is empty until the leader sends it one. Built in a temp dir
        and renamed into place, so a crash leaves either no log or a whole one."""
        tmp = log_dir.with_name(log_dir.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        (tmp / "snap").mkdir(parents=True)
        metadata = _METADATA.pack(identity.member_id, identity.cluster_id)
        with WAL.create(tmp / "wal", metadata, segment_size=segment_bytes) as wal:
            if first is not None:
                _save_snapshot(wal, Snapshotter(tmp / "snap"), first)
                meta = first.metadata
                wal.save(HardState(term=meta.term, commit=meta.index), [])
        if log_dir.exists():
            shutil.rmtree(log_dir)  # a log-less leftover: exists() said there is no log
        tmp.rename(log_dir)
        fsync_dir(log_dir.parent)

    @classmethod
    def open(cls, log_dir: Path, segment_bytes: int) -> tuple[DurableLog, Identity]:
        """Reopen a member's log at its newest snapshot the WAL knows of."""
        snapshotter = Snapshotter(log_dir / "snap")
        wal, snapshot = _open_wal(log_dir / "wal", snapshotter, segment_bytes)
        contents = wal.read_all()
        storage = MemoryStorage()
        if snapshot is not None:
            storage.apply_snapshot(snapshot)
        storage.set_hard_state(contents.hard_state)
        storage.append(contents.entries)
        identity = Identity(*_METADATA.unpack(contents.metadata))
        return cls(wal, snapshotter, storage), identity

    def persist(
        self,
        hard_state: HardState | None,
        entries: list[Entry],
        snapshot: Snapshot | None,
        sync: bool = True,
    ) -> None:
        """Write one Ready's state: snapshot, then entries and hard state, made durable
        with one fsync unless ``sync`` is False (a commit-index-only change)."""
        if snapshot is not None:
            _save_snapshot(self._wal, self._snapshotter, snapshot)
        self._wal.save(hard_state, entries, sync=sync)

    def persist_snapshot(self, snapshot: Snapshot) -> None:
        """Save a snapshot this member took, and drop the WAL segments it covers."""
        _save_snapshot(self._wal, self._snapshotter, snapshot)
        self._wal.release_to(snapshot.metadata.index)
        self._snapshotter.purge(keep=SNAPSHOTS_KEPT)

    def mirror(
        self, hard_state: HardState | None, entries: list[Entry], snapshot: Snapshot | None
    ) -> None:
        """Show raft what :meth:`persist` made durable."""
        if snapshot is not None:
            self.storage.apply_snapshot(snapshot)
        if entries:
            self.storage.append(entries)
        if hard_state is not None:
            self.storage.set_hard_state(hard_state)

    def close(self) -> None:
        self._wal.close()


def _open_wal(
    wal_dir: Path, snapshotter: Snapshotter, segment_bytes: int
) -> tuple[WAL, Snapshot | None]:
    """Open the WAL at the newest snapshot it has a marker for.

    A snapshot file whose marker never reached the WAL (a crash between the two writes)
    is set aside as ``.orphan``, and the next older one tried.
    """
    while True:
        snapshot = snapshotter.load_newest()
        marker = None
        if snapshot is not None:
            marker = SnapshotMarker(snapshot.metadata.index, snapshot.metadata.term)
        try:
            return WAL.open(wal_dir, marker, segment_size=segment_bytes), snapshot
        except WalSnapshotMissingError:
            if marker is None:
                raise
            snapshotter.set_aside(marker, ".orphan")


def _save_snapshot(wal: WAL, snapshotter: Snapshotter, snapshot: Snapshot) -> None:
    # The file first, then the WAL marker: every marker then has its file.
    snapshotter.save(snapshot)
    meta = snapshot.metadata
    wal.save_snapshot(SnapshotMarker(meta.index, meta.term))
