"""The LMDB engine: one environment per data directory, one named database per bucket.

Transactions are LMDB's own (see :mod:`kvcore_lmdb.txn`). The environment's files are
``data.mdb`` (every page) and ``lock.mdb`` (the reader table) in the directory.

Space: LMDB reuses freed pages but never shrinks its file, so defragmentation
(:class:`LmdbDefragmentation`) writes a compacted copy (``env.copy(compact=True)``,
which reads one snapshot while writers go on) beside it, on a thread of its own. From
its start on, every committed write notes the record keys it changed. Catch-up rounds,
on that thread too, copy the current records of the keys noted since the previous
round into the copy, each round shorter than the last while writes are slower than the
catch-up. The last step, on the backend's thread, takes in what the last round left,
closes the environment, renames the copy over ``data.mdb`` and reopens: writes wait
for that step only. A crash leaves either the old or the new file in place, never a
mix. The last step waits until no read transaction is open (they would become
invalid); no other process may have the directory open.

A full map (``map_size`` reached) aborts the write transaction with
:class:`kvcore_lmdb.txn.MapFullError` rather than growing the map in place: LMDB
allows that only with no transaction open in the process. ``map_size`` is reserved
address space, not disk, so the default is large.
"""

from __future__ import annotations

import os
import shutil
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final

import lmdb
import pydantic

from kvcore.backend import defragment_inline
from kvcore_lmdb import keys
from kvcore_lmdb.txn import LmdbReadTxn, LmdbWriteTxn, Touched

DATA_FILE: Final = "data.mdb"
_COMPACT_DIR: Final = "compact.tmp"  # where defragment writes its copy
_META_PAGES: Final = 2


class LmdbOptions(pydantic.BaseModel):
    """``engine.options`` of the LMDB engine. Sizes take bytes or strings like ``64GiB``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    map_size: Annotated[pydantic.ByteSize, pydantic.Field(gt=0)] = pydantic.ByteSize(64 << 30)
    """Largest the data file may grow to. Address space only: the file grows as used."""
    sync: bool = True
    """fsync on every commit. False: commits survive a process crash but not a power
    loss until ``Backend.sync()`` (the WAL replays what is lost)."""
    max_readers: Annotated[int, pydantic.Field(ge=1)] = 126
    """Read transactions open at once, across every process using the directory."""


class LmdbEngine:
    """The engine plugin object: ``name``, ``options_model`` and ``open``."""

    name: ClassVar[str] = "lmdb"
    options_model: ClassVar[type[pydantic.BaseModel]] = LmdbOptions

    def open(self, path: Path, buckets: Sequence[str], options: Any) -> LmdbBackend:
        return LmdbBackend(Path(path), buckets, options)


class LmdbBackend:
    def __init__(self, path: Path, buckets: Sequence[str], options: LmdbOptions) -> None:
        self._path = path
        self._buckets = tuple(buckets)
        self._options = options
        self._readers: weakref.WeakSet[LmdbReadTxn] = weakref.WeakSet()
        self._touched: Touched | None = None  # noted while a defragmentation runs
        self._touched_lock = threading.Lock()  # commits note, catch-up rounds take
        self._copying = threading.Lock()  # held while a compacted copy is written
        path.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(path / _COMPACT_DIR, ignore_errors=True)  # an interrupted defragment
        self._open_env()

    def _open_env(self) -> None:
        self._env = self._open_at(self._path)
        if self._env.max_key_size() < keys.MAX_RECORD_KEY:
            raise RuntimeError(f"this LMDB build takes keys of {self._env.max_key_size()} bytes")
        self._env.reader_check()  # free slots of readers that died (a killed process)
        with self._env.begin(write=True) as txn:
            self._dbs = {b: self._env.open_db(b.encode(), txn=txn) for b in self._buckets}

    def _open_at(self, path: Path) -> lmdb.Environment:
        options = self._options
        return lmdb.open(
            str(path),
            map_size=options.map_size,
            max_dbs=len(self._buckets),
            max_readers=options.max_readers,
            sync=options.sync,
            metasync=options.sync,
        )

    def read(self) -> LmdbReadTxn:
        reader = LmdbReadTxn(self._env.begin(buffers=False), self._dbs)
        self._readers.add(reader)
        return reader

    # LMDB read transactions may move between threads as they are.
    read_detached = read

    def write(self) -> LmdbWriteTxn:
        note = self._note if self._touched is not None else None
        return LmdbWriteTxn(self._env.begin(write=True, buffers=False), self._dbs, note)

    def _note(self, touched: Touched) -> None:
        with self._touched_lock:
            if self._touched is not None:
                self._touched |= touched

    def note_writes(self, on: bool) -> Touched:
        """Start (``on``) or stop noting changed records; what was noted so far."""
        with self._touched_lock:
            taken, self._touched = self._touched or set(), (set() if on else None)
        return taken

    def sync(self) -> None:
        self._env.sync(True)

    def size(self) -> int:
        return (self._path / DATA_FILE).stat().st_size

    def size_in_use(self) -> int:
        """Pages of every database (and the meta pages) times the page size."""
        stats = [self._env.stat()]
        with self._env.begin() as txn:
            stats += [txn.stat(db) for db in self._dbs.values()]
        pages = sum(s["branch_pages"] + s["leaf_pages"] + s["overflow_pages"] for s in stats)
        return (pages + _META_PAGES) * stats[0]["psize"]

    def defragment(self) -> None:
        """Swap in a compacted copy of the data file (see the module doc)."""
        defragment_inline(self.start_defragment())

    def start_defragment(self) -> LmdbDefragmentation:
        return LmdbDefragmentation(self)

    def write_copy(self) -> None:
        """Write a compacted copy of the current state into the copy directory."""
        with self._copying:
            tmp = self._path / _COMPACT_DIR
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            self._env.copy(str(tmp), compact=True)

    def readers_open(self) -> bool:
        return any(reader.open for reader in list(self._readers))

    def catch_up_copy(self, touched: Touched) -> None:
        """Copy the current records of ``touched`` into the copy (absent ones deleted).
        Any thread; the copy is the caller's alone."""
        if not touched:
            return
        with self._copying:
            self._catch_up_copy(touched)

    def _catch_up_copy(self, touched: Touched) -> None:
        copy = self._open_at(self._path / _COMPACT_DIR)
        try:
            with self._env.begin() as src, copy.begin(write=True) as dst:
                out = {b: copy.open_db(b.encode(), txn=dst) for b in self._buckets}
                for bucket, record_key in touched:
                    record = src.get(record_key, db=self._dbs[bucket])
                    if record is None:
                        dst.delete(record_key, db=out[bucket])
                    else:
                        dst.put(record_key, record, db=out[bucket])
            copy.sync(True)
        finally:
            copy.close()

    def swap_in_copy(self) -> None:
        """Make the copy the data file. On the backend's thread, no transaction open."""
        tmp = self._path / _COMPACT_DIR
        _fsync(tmp / DATA_FILE)
        self._env.close()
        os.replace(tmp / DATA_FILE, self._path / DATA_FILE)
        _fsync(self._path)  # make the rename durable
        shutil.rmtree(tmp)
        self._open_env()

    def close(self) -> None:
        with self._copying:  # a copy being written reads through the environment
            self._env.close()


class LmdbDefragmentation:
    """An online defragmentation (``kvcore.backend.Defragmentation``): the copy and
    the catch-up rounds on a worker thread, the last catch-up and the swap on the
    backend's thread."""

    def __init__(self, backend: LmdbBackend) -> None:
        self._backend = backend
        self._copied = False
        backend.note_writes(on=True)

    def run(self) -> None:
        backend = self._backend
        try:
            if not self._copied:
                backend.write_copy()
                self._copied = True
            else:
                backend.catch_up_copy(backend.note_writes(on=True))
        except BaseException:
            backend.note_writes(on=False)  # no finish will follow
            raise

    def can_finish(self) -> bool:
        return not self._backend.readers_open()

    def finish(self) -> None:
        backend = self._backend
        backend.catch_up_copy(backend.note_writes(on=False))
        backend.swap_in_copy()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
