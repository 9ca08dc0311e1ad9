"""The raft log on disk - WAL plus snapshot files - and the in-memory copy raft reads.

Layout of the log's own directory (``<data_dir>/member/raft/``): ``wal/`` (see
``kvcore.wal``) and ``snap/``. Nothing else lives there: a founding member's first log
is built beside it and renamed into place whole.
Every method here blocks on disk except :meth:`DurableLog.mirror`; the driver calls
:meth:`persist` from its worker thread and :meth:`mirror` on the event loop after it.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from kvcore.raft.bootstrap import bootstrap_snapshot
from kvcore.raft.storage import MemoryStorage
from kvcore.raft.types import Entry, HardState, Snapshot
from kvcore.wal import WAL, SnapshotMarker, Snapshotter
from kvcore.wal.fileutil import fsync_dir

_METADATA = struct.Struct(">QQ")  # member id, cluster id


@dataclass(slots=True, frozen=True)
class Identity:
    member_id: int
    cluster_id: int


class IdentityMismatchError(Exception):
    """The data dir belongs to another member or cluster than the config describes."""


class DurableLog:
    def __init__(self, wal: WAL, snapshotter: Snapshotter, storage: MemoryStorage) -> None:
        self._wal = wal
        self._snapshotter = snapshotter
        self.storage = storage

    @classmethod
    def open(
        cls,
        log_dir: Path,
        identity: Identity,
        voters: list[int],
        segment_bytes: int,
    ) -> DurableLog:
        """Reopen the member's log, or create it for a founding member of ``voters``."""
        if not WAL.exists(log_dir / "wal"):
            _create(log_dir, identity, voters, segment_bytes)
        wal_dir, snapshotter = log_dir / "wal", Snapshotter(log_dir / "snap")
        storage = MemoryStorage()
        snapshot = snapshotter.load_newest()
        marker = (
            SnapshotMarker(snapshot.metadata.index, snapshot.metadata.term) if snapshot else None
        )
        wal = WAL.open(wal_dir, marker, segment_size=segment_bytes)
        contents = wal.read_all()
        found = Identity(*_METADATA.unpack(contents.metadata))
        if found != identity:
            wal.close()
            raise IdentityMismatchError(
                f"{log_dir}: holds member {found.member_id:x} of cluster "
                f"{found.cluster_id:x}, but the config describes member "
                f"{identity.member_id:x} of cluster {identity.cluster_id:x}"
            )
        if snapshot is not None:
            storage.apply_snapshot(snapshot)
        storage.set_hard_state(contents.hard_state)
        storage.append(contents.entries)
        return cls(wal, snapshotter, storage)

    def persist(
        self, hard_state: HardState | None, entries: list[Entry], snapshot: Snapshot | None
    ) -> None:
        """Make one Ready's state durable: snapshot, then entries and hard state (one fsync)."""
        if snapshot is not None:
            self.persist_snapshot(snapshot)
        self._wal.save(hard_state, entries)

    def persist_snapshot(self, snapshot: Snapshot) -> None:
        _save_snapshot(self._wal, self._snapshotter, snapshot)

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


def _create(log_dir: Path, identity: Identity, voters: list[int], segment_bytes: int) -> None:
    """Write a founding member's first log in a temp dir, then rename it into place,
    so a crash during bootstrap leaves nothing half made."""
    tmp = log_dir.with_name(log_dir.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "snap").mkdir(parents=True)
    metadata = _METADATA.pack(identity.member_id, identity.cluster_id)
    first = bootstrap_snapshot(voters)
    with WAL.create(tmp / "wal", metadata, segment_size=segment_bytes) as wal:
        _save_snapshot(wal, Snapshotter(tmp / "snap"), first)
        wal.save(HardState(term=first.metadata.term, commit=first.metadata.index), [])
    if log_dir.exists():
        shutil.rmtree(log_dir)  # a log-less leftover: WAL.exists said there is no log
    tmp.rename(log_dir)
    fsync_dir(log_dir.parent)


def _save_snapshot(wal: WAL, snapshotter: Snapshotter, snapshot: Snapshot) -> None:
    # The file first, then the WAL marker: every marker then has its file.
    snapshotter.save(snapshot)
    meta = snapshot.metadata
    wal.save_snapshot(SnapshotMarker(meta.index, meta.term))
