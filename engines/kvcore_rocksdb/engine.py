"""The RocksDB engine (through rocksdict): one database per data directory, one column
family per bucket, keys and values as raw bytes (``raw_mode``: nothing is pickled).

Reads: :mod:`kvcore_rocksdb.read`. Writes: :mod:`kvcore_rocksdb.write`, committed here
as one WriteBatch spanning column families, synced when ``sync`` is on.

Space: :meth:`RocksdbBackend.size` is the table files (those older iterators still
pin included) plus the WAL, which holds what is not yet flushed to tables;
:meth:`~RocksdbBackend.size_in_use` is RocksDB's estimate of live table data plus the
WAL. RocksDB's own text logs are not counted (they are capped instead). Defragmentation
compacts every column family down to the last level, which drops deleted and
overwritten data; RocksDB compacts beside writes, so it runs whole on a worker thread
(:class:`RocksdbDefragmentation`) and its last step has nothing left to do.

Detached reads get a point in time of their own, every iterator created at once: the
shared one's iterators are used by the backend's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal

import pydantic
from rocksdict import (
    BlockBasedOptions,
    BottommostLevelCompaction,
    Cache,
    CompactOptions,
    DBCompressionType,
    Options,
    Rdict,
    WriteBatch,
    WriteOptions,
)

from kvcore.backend import defragment_inline
from kvcore_rocksdb import scan
from kvcore_rocksdb.read import PointInTime, RocksdbReadTxn
from kvcore_rocksdb.write import Changes, RocksdbWriteTxn

_WAL_SUFFIX: Final = ".log"
# RocksDB's text logs (LOG, LOG.old.*) grow without bound by default.
_INFO_LOG_BYTES: Final = 16 << 20
_INFO_LOG_FILES: Final = 4

Size = Annotated[pydantic.ByteSize, pydantic.Field(gt=0)]


class RocksdbOptions(pydantic.BaseModel):
    """``engine.options`` of the RocksDB engine. Sizes take bytes or strings like ``64MiB``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    write_buffer_size: Size = pydantic.ByteSize(64 << 20)
    """Memtable size per column family before it is flushed to a table file."""
    compression: Literal["none", "snappy", "lz4", "zstd"] = "lz4"
    """Table file compression (the ones this rocksdict build is known to carry)."""
    block_cache_size: Size = pydantic.ByteSize(128 << 20)
    """One LRU cache of uncompressed blocks, shared by every column family."""
    sync: bool = True
    """fsync the WAL on every commit. False: commits survive a process crash but not a
    power loss until ``Backend.sync()`` (the WAL replays what is lost)."""
    max_background_jobs: Annotated[int, pydantic.Field(ge=1)] = 2
    """Threads for flushes and compactions."""


class RocksdbEngine:
    """The engine plugin object: ``name``, ``options_model`` and ``open``."""

    name: ClassVar[str] = "rocksdb"
    options_model: ClassVar[type[pydantic.BaseModel]] = RocksdbOptions

    def open(self, path: Path, buckets: Sequence[str], options: Any) -> RocksdbBackend:
        return RocksdbBackend(Path(path), buckets, options)


def _db_options(options: RocksdbOptions) -> Options:
    db = Options(raw_mode=True)
    db.create_if_missing(True)
    db.create_missing_column_families(True)
    db.set_write_buffer_size(options.write_buffer_size)
    db.set_compression_type(getattr(DBCompressionType, options.compression)())
    db.set_max_background_jobs(options.max_background_jobs)
    db.set_max_log_file_size(_INFO_LOG_BYTES)
    db.set_keep_log_file_num(_INFO_LOG_FILES)
    table = BlockBasedOptions()
    table.set_block_cache(Cache(options.block_cache_size))
    db.set_block_based_table_factory(table)
    return db


class RocksdbBackend:
    def __init__(self, path: Path, buckets: Sequence[str], options: RocksdbOptions) -> None:
        self._path = path
        path.mkdir(parents=True, exist_ok=True)
        db_options = _db_options(options)
        # RocksDB must open every column family the database has, the core's or not.
        existing = Rdict.list_cf(str(path), db_options) if (path / "CURRENT").exists() else []
        families = {name: db_options for name in [*existing, *buckets]}
        self._db = Rdict(str(path), db_options, column_families=families)
        self._families = {b: self._db.get_column_family(b) for b in buckets}
        self._handles = {b: self._db.get_column_family_handle(b) for b in buckets}
        self._write_options = WriteOptions()
        self._write_options.sync = options.sync
        self._current: PointInTime | None = None  # shared by readers until the next commit
        self._points: list[PointInTime] = []  # every point not yet released
        self._compacting = threading.Lock()  # held while a defragmentation compacts

    def read(self) -> RocksdbReadTxn:
        if self._current is None:
            self._current = PointInTime(self._families)
            self._points = [p for p in self._points if p.readers > 0]
            self._points.append(self._current)
        return RocksdbReadTxn(self._current)

    def read_detached(self) -> RocksdbReadTxn:
        point = PointInTime(self._families)
        point.pin()
        point.retired = True  # no later commit shares it: released when its reader closes
        self._points = [p for p in self._points if p.readers > 0]
        self._points.append(point)
        return RocksdbReadTxn(point)

    def write(self) -> RocksdbWriteTxn:
        return RocksdbWriteTxn(self._families, self._apply)

    def _apply(self, changes: Changes) -> None:
        batch = WriteBatch(raw_mode=True)
        for bucket, overlay in changes.items():
            handle = self._handles[bucket]
            for key, value in overlay.items():
                if value is scan.ABSENT:
                    batch.delete(key, handle)
                else:
                    batch.put(key, value, handle)
        self._retire_current()
        self._db.write(batch, self._write_options)

    def _retire_current(self) -> None:
        point, self._current = self._current, None
        if point is None:
            return
        point.retired = True
        if point.readers > 0:
            point.pin()
        else:
            point.release()

    def sync(self) -> None:
        self._db.flush_wal(True)

    def size(self) -> int:
        return self._sum_property("rocksdb.total-sst-files-size") + self._wal_size()

    def size_in_use(self) -> int:
        return self._sum_property("rocksdb.estimate-live-data-size") + self._wal_size()

    def _sum_property(self, name: str) -> int:
        return sum(cf.property_int_value(name) or 0 for cf in self._families.values())

    def _wal_size(self) -> int:
        return sum(f.stat().st_size for f in self._path.glob("*" + _WAL_SUFFIX))

    def defragment(self) -> None:
        defragment_inline(self.start_defragment())

    def start_defragment(self) -> RocksdbDefragmentation:
        self._retire_current()  # its iterators would keep compacted-away files alive
        return RocksdbDefragmentation(list(self._families.values()), self._compacting)

    def close(self) -> None:
        if not self._families:
            return  # closed already
        self._compacting.acquire()  # let a running compaction end; closed for good after
        # rocksdict keeps the database open while any iterator or family object lives.
        self._retire_current()
        for point in self._points:
            point.release()
        self._points = []
        for family in self._families.values():
            family.close()
        self._families.clear()
        self._handles.clear()
        self._db.close()


class RocksdbDefragmentation:
    """``kvcore.backend.Defragmentation``: a full manual compaction, which RocksDB runs
    beside reads and writes (rocksdict releases the GIL while it waits for it)."""

    def __init__(self, families: list[Rdict], compacting: threading.Lock) -> None:
        self._families = families
        self._compacting = compacting
        self._done = False

    def run(self) -> None:
        """Compact once; a later call has nothing to catch up: the writes went on."""
        if self._done:
            return
        self._done = True
        compact = CompactOptions()
        compact.set_bottommost_level_compaction(BottommostLevelCompaction.force())
        with self._compacting:
            for family in self._families:
                family.compact_range(None, None, compact)

    def can_finish(self) -> bool:
        return True

    def finish(self) -> None:
        """Nothing to swap: the compaction's result is live as soon as it is done."""
