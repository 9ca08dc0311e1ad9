"""The LMDB engine: one environment per data directory, one named database per bucket.

Transactions are LMDB's own (see :mod:`kvcore_lmdb.txn`). The environment's files are
``data.mdb`` (every page) and ``lock.mdb`` (the reader table) in the directory.

Space: LMDB reuses freed pages but never shrinks its file, so :meth:`defragment`
writes a compacted copy (``env.copy(compact=True)``) beside it, closes the
environment, renames the copy over ``data.mdb`` and reopens. A crash leaves either the
old or the new file in place, never a mix. Transactions still open when it runs become
invalid (using them raises), and no other process may have the directory open.

A full map (``map_size`` reached) aborts the write transaction with
:class:`kvcore_lmdb.txn.MapFullError` rather than growing the map in place: LMDB
allows that only with no transaction open in the process. ``map_size`` is reserved
address space, not disk, so the default is large.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final

import lmdb
import pydantic

from kvcore_lmdb import keys
from kvcore_lmdb.txn import LmdbReadTxn, LmdbWriteTxn

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
        path.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(path / _COMPACT_DIR, ignore_errors=True)  # an interrupted defragment
        self._open_env()

    def _open_env(self) -> None:
        options = self._options
        self._env = lmdb.open(
            str(self._path),
            map_size=options.map_size,
            max_dbs=len(self._buckets),
            max_readers=options.max_readers,
            sync=options.sync,
            metasync=options.sync,
        )
        if self._env.max_key_size() < keys.MAX_RECORD_KEY:
            raise RuntimeError(f"this LMDB build takes keys of {self._env.max_key_size()} bytes")
        self._env.reader_check()  # free slots of readers that died (a killed process)
        with self._env.begin(write=True) as txn:
            self._dbs = {b: self._env.open_db(b.encode(), txn=txn) for b in self._buckets}

    def read(self) -> LmdbReadTxn:
        return LmdbReadTxn(self._env.begin(buffers=False), self._dbs)

    def write(self) -> LmdbWriteTxn:
        return LmdbWriteTxn(self._env.begin(write=True, buffers=False), self._dbs)

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
        tmp = self._path / _COMPACT_DIR
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        self._env.copy(str(tmp), compact=True)
        _fsync(tmp / DATA_FILE)
        self._env.close()
        os.replace(tmp / DATA_FILE, self._path / DATA_FILE)
        _fsync(self._path)  # make the rename durable
        tmp.rmdir()
        self._open_env()

    def close(self) -> None:
        self._env.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
