"""The dictlog engine: each bucket a SortedDict in memory, each commit a log record.

Snapshots cost nothing because committed dictionaries are never changed: a write
transaction copies each bucket on its first write there, and commit swaps the copies
in; a reader keeps the dictionaries of its opening instant. The price is a copy of a
bucket per commit that writes to it: fine for an example, not for a large store.

Durability: commit appends one record to ``dictlog.log`` (:mod:`kvcore_dictlog.log`)
with write(2), so a returned commit survives a killed process; :meth:`sync` fsyncs it.
Open replays the log. Defragment writes the live pairs to a temp file, fsyncs it and
renames it over the log.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

import pydantic
from sortedcontainers import SortedDict

from kvcore_dictlog import log
from kvcore_dictlog.txn import DictlogReadTxn, DictlogWriteTxn, State

LOG_FILE: Final = "dictlog.log"


class DictlogOptions(pydantic.BaseModel):
    """``engine.options`` of dictlog; an unknown option is an error."""

    model_config = pydantic.ConfigDict(extra="forbid")

    fsync_on_commit: bool = False
    """fsync the log on every commit. False: a commit survives a killed process but not
    a power loss until ``Backend.sync()`` (kvcore's WAL replays what is lost)."""


class DictlogEngine:
    """The engine plugin object: ``name``, ``options_model`` and ``open``."""

    name: ClassVar[str] = "dictlog"
    options_model: ClassVar[type[pydantic.BaseModel]] = DictlogOptions

    def open(self, path: Path, buckets: Sequence[str], options: Any) -> DictlogBackend:
        return DictlogBackend(Path(path), buckets, options)


class DictlogBackend:
    def __init__(self, path: Path, buckets: Sequence[str], options: DictlogOptions) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._path = path / LOG_FILE
        self._options = options
        self._state: State = {bucket: SortedDict() for bucket in buckets}
        if self._path.exists():
            for payload in log.whole_records(self._path):
                for bucket, key, value in log.decode(payload):
                    data = self._state.setdefault(bucket, SortedDict())
                    if value is None:
                        data.pop(key, None)
                    else:
                        data[key] = value
        self._fd = _open_log(self._path)

    def read(self) -> DictlogReadTxn:
        return DictlogReadTxn(self._state)

    def write(self) -> DictlogWriteTxn:
        return DictlogWriteTxn(self, self._state)

    def publish(self, state: State, ops: list[log.Op]) -> None:
        """Log a write transaction's operations, then make its state the committed one."""
        if ops:
            end = os.lseek(self._fd, 0, os.SEEK_END)
            try:
                log.append(self._fd, log.encode(ops))
            except OSError:
                os.ftruncate(self._fd, end)  # no half record before the next one
                raise
            if self._options.fsync_on_commit:
                os.fsync(self._fd)
        self._state = state

    def sync(self) -> None:
        os.fsync(self._fd)

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def size_in_use(self) -> int:
        """Bytes of live keys and values (counted on each call: kvcore asks rarely)."""
        return sum(len(k) + len(v) for data in self._state.values() for k, v in data.items())

    def defragment(self) -> None:
        tmp = self._path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            for bucket, data in self._state.items():
                for key, value in data.items():
                    out.write(log.encode([(bucket, key, value)]))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self._path)
        self.close()
        self._fd = _open_log(self._path)

    def close(self) -> None:
        """Close the log; open readers keep their snapshots. Idempotent."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _open_log(path: Path) -> int:
    """Open (creating) the log for appends and make its directory entry durable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return fd
