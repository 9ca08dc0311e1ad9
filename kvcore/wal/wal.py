"""The WAL: create, open (read and repair), append batches, cut and release segments."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import time
from pathlib import Path
from types import TracebackType

from kvcore import metrics
from kvcore.raft.types import Entry, HardState
from kvcore.wal import codec
from kvcore.wal.codec import SnapshotMarker
from kvcore.wal.errors import WalCorruptError, WalError, WalSnapshotMissingError
from kvcore.wal.fileutil import fsync_dir, mapped, preallocate, write_all
from kvcore.wal.record import RecordType, SegmentReader, append_record
from kvcore.wal.repair import valid_end
from kvcore.wal.segment import Segment, list_segments, segment_name, segments_from

DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024
_TEMP_SUFFIX = ".tmp"


@dataclasses.dataclass(slots=True)
class WalContents:
    """What ``WAL.read_all`` found after the snapshot the WAL was opened at."""

    metadata: bytes
    hard_state: HardState  # empty (all zero) if none was ever saved
    entries: list[Entry]  # contiguous, starting right after the opening snapshot's index
    last_snapshot: SnapshotMarker  # the newest snapshot marker read


class WAL:
    """An append-only log of raft entries and hard state, durable when ``save`` returns.

    Not thread-safe: one owner calls it (the driver, from one worker thread at a time).
    Build one with ``create`` or ``open``; an open WAL holds an exclusive lock on its
    directory until ``close``.
    """

    def __init__(
        self,
        directory: Path,
        lock_fd: int,
        segments: list[Segment],
        fd: int,
        offset: int,
        crc: int,
        contents: WalContents,
        segment_size: int,
    ) -> None:
        self._dir = directory
        self._lock_fd = lock_fd
        self._segments = segments
        self._fd = fd
        self._offset = offset  # where the next record goes in the last segment
        self._crc = crc  # crc of the last record written: the chain's next seed
        self._metadata = contents.metadata
        self._state = contents.hard_state
        self._last_index = max(
            contents.entries[-1].index if contents.entries else 0,
            contents.last_snapshot.index,
        )
        self._contents: WalContents | None = contents
        self._segment_size = segment_size

    # -- construction ---------------------------------------------------------------

    @staticmethod
    def exists(directory: Path) -> bool:
        directory = Path(directory)
        return directory.is_dir() and bool(list_segments(directory))

    @classmethod
    def create(
        cls, directory: Path, metadata: bytes, *, segment_size: int = DEFAULT_SEGMENT_SIZE
    ) -> WAL:
        """Create an empty WAL holding ``metadata``; it appears whole or not at all."""
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            raise WalError(f"{directory}: exists and is not empty")
        tmp = directory.with_name(directory.name + _TEMP_SUFFIX)
        if tmp.exists():
            shutil.rmtree(tmp)  # left by a crash during an earlier create
        tmp.mkdir(parents=True)
        name = segment_name(0, 0)
        fd = os.open(tmp / name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            preallocate(fd, segment_size)
            header, crc = _segment_header(0, metadata, HardState(), SnapshotMarker())
            write_all(fd, header)
            os.fsync(fd)
            fsync_dir(tmp)
            # rename(2) replaces an empty directory, so this is atomic either way.
            os.rename(tmp, directory)
            fsync_dir(directory.parent)
            lock_fd = _lock(directory)
        except BaseException:
            os.close(fd)
            raise
        contents = WalContents(metadata, HardState(), [], SnapshotMarker())
        segments = [Segment(0, 0, directory / name)]
        return cls(directory, lock_fd, segments, fd, len(header), crc, contents, segment_size)

    @classmethod
    def open(
        cls,
        directory: Path,
        from_snapshot: SnapshotMarker | None = None,
        *,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> WAL:
        """Open for appending, reading every record after ``from_snapshot``.

        A torn tail is cut off here; corruption before it raises ``WalCorruptError``.
        A snapshot other than the empty one must have been recorded with
        ``save_snapshot``, else ``WalError``.
        """
        directory = Path(directory)
        start = from_snapshot or SnapshotMarker()
        lock_fd = _lock(directory)
        try:
            for stale in directory.glob("*" + _TEMP_SUFFIX):
                stale.unlink()  # a segment whose cut a crash interrupted
            segments = list_segments(directory)
            if not segments:
                raise WalError(f"{directory}: no WAL segments")
            contents, end, crc = _read(segments_from(segments, start.index), start)
            fd = _open_tail(segments[-1].path, end, segment_size)
        except BaseException:
            os.close(lock_fd)
            raise
        return cls(directory, lock_fd, segments, fd, end, crc, contents, segment_size)

    # -- use --------------------------------------------------------------------------

    def read_all(self) -> WalContents:
        """The contents found by ``open`` (or the empty ones of ``create``); call once."""
        if self._contents is None:
            raise WalError("read_all was already called")
        contents, self._contents = self._contents, None
        return contents

    def save(self, hard_state: HardState | None, entries: list[Entry], sync: bool = True) -> None:
        """Append ``entries`` then ``hard_state``; durable, with one fsync, on return.

        ``sync=False`` skips the fsync: for a batch raft does not need durable (a
        commit-index-only hard state: the index is learned again after a crash). Records
        written so are made durable by the next synced batch.

        An entry whose index is at or below an earlier one replaces the log from that
        index on (readers apply it so); one above ``last_index + 1`` is refused with
        ``WalError`` (record a leader's snapshot with ``save_snapshot`` first). An empty
        hard state is not written. If writing fails, the WAL closes itself: reopen it.
        """
        self._check_open()
        buf, crc, expected = bytearray(), self._crc, self._last_index + 1
        for entry in entries:
            # A gap would make the log unreadable at the next open: refuse it now.
            if entry.index > expected:
                raise WalError(f"entry {entry.index} would leave a gap: expected <= {expected}")
            expected = entry.index + 1
            crc = append_record(buf, RecordType.ENTRY, codec.encode_entry(entry), crc)
        if hard_state is not None and not hard_state.is_empty():
            state = codec.encode_hard_state(hard_state)
            crc = append_record(buf, RecordType.HARD_STATE, state, crc)
        if not buf:
            return
        # Updated first: a cut inside _commit names the next segment and copies the
        # state into its header from these.
        if entries:
            self._last_index = entries[-1].index
        if hard_state is not None and not hard_state.is_empty():
            # A copy: raft may mutate its own.
            self._state = HardState(hard_state.term, hard_state.vote, hard_state.commit)
        self._commit(buf, crc, sync)

    def save_snapshot(self, marker: SnapshotMarker) -> None:
        """Record that a snapshot at ``marker`` was saved, so ``open`` can start there."""
        self._check_open()
        buf = bytearray()
        crc = append_record(buf, RecordType.SNAPSHOT, codec.encode_snapshot(marker), self._crc)
        # After a snapshot from the leader the next entry follows it, whatever came before.
        self._last_index = max(self._last_index, marker.index)
        self._commit(buf, crc)

    def release_to(self, index: int) -> None:
        """Delete the oldest segments whose live entries all lie below ``index``.

        Segment k's live entries are below the first index of segment k+1, so it can
        go when that is <= ``index``; only a prefix is deleted, so no gap appears.
        """
        self._check_open()
        count = 0
        while count + 1 < len(self._segments) and self._segments[count + 1].first_index <= index:
            count += 1
        if count == 0:
            return
        for segment in self._segments[:count]:
            segment.path.unlink()
        del self._segments[:count]
        fsync_dir(self._dir)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # closing the descriptor drops its flock
            self._lock_fd = -1

    def __enter__(self) -> WAL:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def last_index(self) -> int:
        return self._last_index

    # -- internals --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._fd < 0:
            raise WalError(f"{self._dir}: WAL is closed")

    def _commit(self, buf: bytearray, crc: int, sync: bool = True) -> None:
        """Write one batch and make it durable; cut the segment once it is full."""
        try:
            write_all(self._fd, buf)
            self._offset += len(buf)
            self._crc = crc
            if self._offset >= self._segment_size:
                self._cut()
            elif sync:
                started = time.perf_counter()
                os.fdatasync(self._fd)
                metrics.WAL_FSYNC.observe(time.perf_counter() - started)
        except OSError:
            # The tail is now unknown; reopening repairs it. Refuse further writes.
            self.close()
            raise

    def _cut(self) -> None:
        """Seal the full segment and start the next, whose header repeats the state."""
        os.ftruncate(self._fd, self._offset)  # drop the unused preallocation
        os.fsync(self._fd)  # also makes the batch that filled it durable
        last = self._segments[-1]
        segment = Segment(
            last.seq + 1,
            self._last_index + 1,
            self._dir / segment_name(last.seq + 1, self._last_index + 1),
        )
        tmp = segment.path.with_name(segment.path.name + _TEMP_SUFFIX)
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            preallocate(fd, self._segment_size)
            header, crc = _segment_header(self._crc, self._metadata, self._state, None)
            write_all(fd, header)
            os.fsync(fd)
            # Only a complete header ever carries a segment name.
            os.rename(tmp, segment.path)
            fsync_dir(self._dir)
        except BaseException:
            os.close(fd)
            raise
        os.close(self._fd)
        self._fd, self._offset, self._crc = fd, len(header), crc
        self._segments.append(segment)


def _lock(directory: Path) -> int:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise WalError(f"{directory}: WAL is in use by another process or object") from None
    return fd


def _segment_header(
    prev_crc: int, metadata: bytes, state: HardState, marker: SnapshotMarker | None
) -> tuple[bytearray, int]:
    """The records that begin a segment, so it can be read without the ones before it."""
    buf = bytearray()
    crc = append_record(buf, RecordType.CRC, codec.encode_crc(prev_crc), 0)
    crc = append_record(buf, RecordType.METADATA, metadata, crc)
    if not state.is_empty():
        crc = append_record(buf, RecordType.HARD_STATE, codec.encode_hard_state(state), crc)
    if marker is not None:
        crc = append_record(buf, RecordType.SNAPSHOT, codec.encode_snapshot(marker), crc)
    return buf, crc


class _Reader:
    """Accumulates the log's state while segments are decoded in order."""

    def __init__(self, start: SnapshotMarker) -> None:
        self.start = start
        self.metadata: bytes | None = None
        self.state = HardState()
        self.entries: list[Entry] = []
        self.last_snapshot = start
        self.found_start = start.index == 0

    def apply(self, kind: RecordType, payload: bytes) -> None:
        if kind is RecordType.ENTRY:
            self._append(codec.decode_entry(payload))
        elif kind is RecordType.HARD_STATE:
            self.state = codec.decode_hard_state(payload)
        elif kind is RecordType.SNAPSHOT:
            self._snapshot(codec.decode_snapshot(payload))
        elif kind is RecordType.METADATA:
            if self.metadata is not None and self.metadata != payload:
                raise ValueError("metadata differs from the previous segment's")
            self.metadata = payload
        else:
            raise ValueError("crc record in the middle of a segment")

    def _append(self, entry: Entry) -> None:
        if entry.index <= self.start.index:
            # Not returned, but it still overwrote every entry after it: a segment read
            # from before the snapshot can hold stale entries above the snapshot index.
            self.entries.clear()
            return
        position = entry.index - self.start.index - 1
        if position > len(self.entries):
            last = self.start.index + len(self.entries)
            raise ValueError(f"entry {entry.index} leaves a gap after entry {last}")
        del self.entries[position:]  # a new leader overwrote the tail
        self.entries.append(entry)

    def _snapshot(self, marker: SnapshotMarker) -> None:
        self.last_snapshot = marker
        if marker.index == self.start.index:
            if marker.term != self.start.term:
                raise ValueError(
                    f"snapshot marker at index {marker.index} has term {marker.term}, "
                    f"opened at term {self.start.term}"
                )
            self.found_start = True


def _read(segments: list[Segment], start: SnapshotMarker) -> tuple[WalContents, int, int]:
    """Decode ``segments``, cutting a torn tail off the last one.

    Returns the contents, the end of the last good record and its crc.
    """
    reader = _Reader(start)
    prev_crc: int | None = None
    end = crc = 0
    for number, segment in enumerate(segments):
        is_last = number == len(segments) - 1
        with mapped(segment.path) as data:
            records = SegmentReader(data)
            begun = False
            for record in records:
                try:
                    if not begun:
                        _check_crc_record(record.kind, record.payload, prev_crc)
                        begun = True
                    else:
                        reader.apply(record.kind, record.payload)
                except ValueError as e:
                    raise WalCorruptError(segment.path, record.offset, str(e)) from None
            end, crc, size = valid_end(records, segment.path, is_last), records.crc, len(data)
        if not begun:
            raise WalCorruptError(segment.path, 0, "segment has no crc record")
        if is_last and end < size:
            # Torn bytes or preallocated zeros: cheaper to cut and preallocate again
            # than to tell them apart.
            _cut_tail(segment.path, end)
        prev_crc = crc
    if reader.metadata is None:
        raise WalCorruptError(segments[0].path, 0, "no metadata record")
    if not reader.found_start:
        raise WalSnapshotMissingError(
            f"no snapshot marker at index {start.index} term {start.term} in the WAL"
        )
    contents = WalContents(reader.metadata, reader.state, reader.entries, reader.last_snapshot)
    return contents, end, crc


def _check_crc_record(kind: RecordType, payload: bytes, prev_crc: int | None) -> None:
    if kind is not RecordType.CRC:
        raise ValueError(f"segment begins with a {kind.name} record, not a crc record")
    carried = codec.decode_crc(payload)
    if prev_crc is not None and carried != prev_crc:
        raise ValueError(f"crc chain broken: carries {carried:#010x}, expected {prev_crc:#010x}")


def _cut_tail(path: Path, end: int) -> None:
    """Truncate the tail away, durably, before anything is appended after it."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.ftruncate(fd, end)
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_tail(path: Path, end: int, segment_size: int) -> int:
    fd = os.open(path, os.O_RDWR)
    try:
        preallocate(fd, segment_size)
        os.lseek(fd, end, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd
