"""Raft snapshot files: one file per snapshot, written atomically, checked on load.

A snapshot is stored in ``{term:016x}-{index:016x}.snap``; integers little-endian::

    offset  size  field
    0       8     magic b"kvsnap\\x00\\x01"
    8       4     header crc: CRC-32 of bytes 12 .. data_start
    12      4     m, the byte count of the metadata
    16      8     data length
    24      4     data crc: CRC-32 of the data
    28      m     metadata: u64 index, u64 term, u32 voter count, u32 learner count,
                  then the voter ids and the learner ids, u64 each
    28+m    ...   data, to the end of the file

The data is last and its length and crc are in a fixed place, so a snapshot can be
streamed to disk (the header is rewritten once the data is in) and read back as a plain
file positioned at the data: a many-GiB backend snapshot never sits in memory. A file is
written as ``<name>.tmp``, fsynced, renamed, and the directory fsynced. A file that fails
its checks is renamed ``<name>.broken`` and the next older one is tried.

Order with the WAL: save the snapshot file first, then ``WAL.save_snapshot``, so every
marker in the WAL has a file; a crash between leaves an orphan file, which
``load_newest(only=...)`` skips by accepting only the markers the WAL holds.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import BinaryIO

from kvcore.raft.types import ConfState, Snapshot, SnapshotMetadata
from kvcore.wal.codec import SnapshotMarker
from kvcore.wal.fileutil import fsync_dir, write_all

_MAGIC = b"kvsnap\x00\x01"
_PREFIX = struct.Struct("<8sI")  # magic, header crc
_SIZES = struct.Struct("<IQI")  # metadata size, data size, data crc
_HEADER_SIZE = _PREFIX.size + _SIZES.size
_META_HEAD = struct.Struct("<QQII")  # index, term, voter count, learner count
_NAME = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.snap$")
_CHUNK = 1 << 20


class SnapshotCorruptError(Exception):
    """A snapshot file fails its checks."""


def snapshot_name(marker: SnapshotMarker) -> str:
    return f"{marker.term:016x}-{marker.index:016x}.snap"


class Snapshotter:
    """Saves and loads the snapshot files of one directory. One owner at a time."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in self.dir.glob("*.snap.tmp"):
            stale.unlink()  # a save a crash interrupted

    def save(self, snapshot: Snapshot) -> Path:
        return self.save_stream(snapshot.metadata, [snapshot.data])

    def save_stream(self, metadata: SnapshotMetadata, chunks: Iterable[bytes]) -> Path:
        """Write a snapshot whose data arrives in ``chunks``; durable on return."""
        path = self.dir / snapshot_name(SnapshotMarker(metadata.index, metadata.term))
        tmp = path.with_name(path.name + ".tmp")
        meta = _encode_metadata(metadata)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.lseek(fd, _HEADER_SIZE + len(meta), os.SEEK_SET)
            size = crc = 0
            for chunk in chunks:
                write_all(fd, chunk)
                size += len(chunk)
                crc = zlib.crc32(chunk, crc)
            os.pwrite(fd, _header(meta, size, crc), 0)
            os.fsync(fd)
        except BaseException:
            tmp.unlink()
            raise
        finally:
            os.close(fd)
        os.rename(tmp, path)
        fsync_dir(self.dir)
        return path

    def load_newest(self, only: Collection[SnapshotMarker] | None = None) -> Snapshot | None:
        """The newest snapshot that passes its checks (and is in ``only``, if given)."""
        found = self._newest(only)
        if found is None:
            return None
        path, metadata = found
        with _open_data(path) as f:
            return Snapshot(metadata=metadata, data=f.read())

    def load_newest_metadata(
        self, only: Collection[SnapshotMarker] | None = None
    ) -> SnapshotMetadata | None:
        """Like ``load_newest`` without reading the data into memory; see ``open_data``."""
        found = self._newest(only)
        return None if found is None else found[1]

    def open_data(self, marker: SnapshotMarker) -> BinaryIO:
        """The data of a saved snapshot, as a file positioned at its first byte.

        It reads to the end of the data; the caller closes it. The data crc is checked
        by ``load_newest*``, not here.
        """
        return _open_data(self.dir / snapshot_name(marker))

    def set_aside(self, marker: SnapshotMarker, suffix: str) -> None:
        """Rename the snapshot at ``marker`` out of the way (``<name><suffix>``)."""
        path = self.dir / snapshot_name(marker)
        path.rename(path.with_name(path.name + suffix))
        fsync_dir(self.dir)

    def purge(self, keep: int) -> None:
        """Delete all but the ``keep`` newest snapshot files."""
        for _, path in self._snapshots()[: -keep if keep > 0 else None]:
            path.unlink()
        fsync_dir(self.dir)

    def _snapshots(self) -> list[tuple[SnapshotMarker, Path]]:
        """The snapshot files and the markers their names give, oldest first."""
        found = []
        for path in self.dir.iterdir():
            match = _NAME.match(path.name)
            if match:
                marker = SnapshotMarker(index=int(match[2], 16), term=int(match[1], 16))
                found.append((marker, path))
        found.sort(key=lambda pair: (pair[0].index, pair[0].term))
        return found

    def _newest(
        self, only: Collection[SnapshotMarker] | None
    ) -> tuple[Path, SnapshotMetadata] | None:
        for marker, path in reversed(self._snapshots()):
            if only is not None and marker not in only:
                continue
            try:
                return path, _verify(path, marker)
            except SnapshotCorruptError:
                path.rename(path.with_name(path.name + ".broken"))
        return None


def _header(meta: bytes, data_size: int, data_crc: int) -> bytes:
    """Everything before the data: prefix, sizes and metadata."""
    rest = _SIZES.pack(len(meta), data_size, data_crc) + meta
    return _PREFIX.pack(_MAGIC, zlib.crc32(rest)) + rest


def _read_header(f: BinaryIO, path: Path) -> tuple[SnapshotMetadata, int, int]:
    """Check the header; return the metadata, data size and data crc, ``f`` at the data."""
    head = f.read(_HEADER_SIZE)
    if len(head) < _HEADER_SIZE:
        raise SnapshotCorruptError(f"{path}: shorter than its header")
    magic, header_crc = _PREFIX.unpack_from(head)
    meta_size, data_size, data_crc = _SIZES.unpack_from(head, _PREFIX.size)
    meta = f.read(meta_size)
    if magic != _MAGIC or zlib.crc32(head[_PREFIX.size :] + meta) != header_crc:
        raise SnapshotCorruptError(f"{path}: bad magic or header crc mismatch")
    return _decode_metadata(path, meta), data_size, data_crc


def _open_data(path: Path) -> BinaryIO:
    f = path.open("rb")
    try:
        _read_header(f, path)
    except BaseException:
        f.close()
        raise
    return f


def _verify(path: Path, marker: SnapshotMarker) -> SnapshotMetadata:
    """Check header, name and data of a snapshot file, streaming the data."""
    with path.open("rb") as f:
        metadata, data_size, data_crc = _read_header(f, path)
        if SnapshotMarker(metadata.index, metadata.term) != marker:
            raise SnapshotCorruptError(f"{path}: name does not match its metadata")
        size = crc = 0
        while chunk := f.read(_CHUNK):
            size += len(chunk)
            crc = zlib.crc32(chunk, crc)
    if size != data_size or crc != data_crc:
        raise SnapshotCorruptError(f"{path}: data crc or size mismatch")
    return metadata


def _encode_metadata(metadata: SnapshotMetadata) -> bytes:
    voters, learners = metadata.conf_state.voters, metadata.conf_state.learners
    ids = struct.pack(f"<{len(voters) + len(learners)}Q", *voters, *learners)
    return _META_HEAD.pack(metadata.index, metadata.term, len(voters), len(learners)) + ids


def _decode_metadata(path: Path, meta: bytes) -> SnapshotMetadata:
    if len(meta) < _META_HEAD.size:
        raise SnapshotCorruptError(f"{path}: metadata too short")
    index, term, n_voters, n_learners = _META_HEAD.unpack_from(meta)
    if len(meta) != _META_HEAD.size + 8 * (n_voters + n_learners):
        raise SnapshotCorruptError(f"{path}: metadata size does not match its member counts")
    ids = struct.unpack_from(f"<{n_voters + n_learners}Q", meta, _META_HEAD.size)
    conf = ConfState(voters=list(ids[:n_voters]), learners=list(ids[n_voters:]))
    return SnapshotMetadata(index=index, term=term, conf_state=conf)
