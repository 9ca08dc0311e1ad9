"""The storage-engine seam: an ordered, transactional byte store with named buckets.

An engine plugin (see ``kvcore.hookspecs``) turns a data directory and its options
into a :class:`Backend`. The core stores everything it keeps - MVCC history, metadata,
leases, auth, members - through this interface and never imports an engine by name.

Contracts every engine keeps (``kvcore.testing.engine_conformance`` checks them):

* Keys and values are arbitrary ``bytes``; keys are ordered bytewise (like
  ``bytes.__lt__``). The empty key is a valid key. Buckets are independent key spaces;
  the set of buckets is fixed when the backend is opened.
* Ranges are half-open: ``[start, end)``; ``end=None`` means "to the end of the
  bucket". ``reverse=True`` yields the same keys from the largest down. ``limit=0``
  means no limit.
* A :class:`ReadTxn` sees one consistent snapshot: the state after the last write
  transaction committed before it was opened, whatever commits while it is open.
  Buffers it returns are the caller's to keep.
* A :class:`WriteTxn` sees its own writes. ``commit()`` makes all of them visible at
  once (atomic), or none if the process dies before commit returns. Commit need not be
  durable on return: the WAL is the source of truth and replays what an engine lost.
  ``Backend.sync()`` makes everything committed so far durable (the core calls it
  before it discards WAL segments). Only one write transaction is open at a time; the
  core guarantees it and engines may assume it.
* All calls are synchronous and may block on disk; the core runs them off the event
  loop where they can. A backend is used from one thread at a time, and a write
  transaction is committed or aborted on the thread that opened it (LMDB requires it).
  The optional capabilities below are the exceptions: each says what it allows on
  another thread.

Optional capabilities (checked with ``isinstance``; the core falls back to doing the
work on its own thread, with writes waiting, when an engine lacks one):

* :class:`DetachedReads`: a read transaction another thread may use while the backend
  keeps serving reads and writes on its own thread (snapshot streams, hashes).
* :class:`OnlineDefragment`: defragmentation whose long part runs on another thread
  while the backend keeps serving reads and writes, and whose short last step is
  the only one that holds writes back (the core repeats the long part's catch-up until
  that step is shorter than its configured pause).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pydantic


class ReadTxn(Protocol):
    """A consistent, read-only view of every bucket. Close it (or use ``with``)."""

    def get(self, bucket: str, key: bytes) -> bytes | None:
        """The value stored at ``key`` in ``bucket``, or None."""

    def range(
        self,
        bucket: str,
        start: bytes,
        end: bytes | None = None,
        limit: int = 0,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(key, value)`` for keys in ``[start, end)`` in key order.

        Ascending by default; descending with ``reverse``. At most ``limit`` pairs
        when ``limit > 0``. The iterator reflects the transaction's snapshot only.
        """

    def close(self) -> None:
        """Release the snapshot. Idempotent."""

    def __enter__(self) -> ReadTxn: ...

    def __exit__(self, *exc: object) -> None: ...


class WriteTxn(ReadTxn, Protocol):
    """A batch of writes, applied atomically by :meth:`commit`.

    Leaving a ``with`` block without calling ``commit`` aborts the batch; leaving it
    on an exception always aborts.
    """

    def put(self, bucket: str, key: bytes, value: bytes) -> None:
        """Set ``key`` to ``value`` in ``bucket``."""

    def delete(self, bucket: str, key: bytes) -> None:
        """Remove ``key`` from ``bucket``; a missing key is not an error."""

    def commit(self) -> None:
        """Apply every write of this transaction atomically. The txn is then closed."""

    def abort(self) -> None:
        """Discard every write of this transaction. Idempotent."""

    def __enter__(self) -> WriteTxn: ...


class Backend(Protocol):
    """An open store. Created by :meth:`Engine.open`, released by :meth:`close`."""

    def read(self) -> ReadTxn:
        """Open a read transaction on the current committed state."""

    def write(self) -> WriteTxn:
        """Open the (single) write transaction."""

    def sync(self) -> None:
        """Make every committed transaction durable before returning."""

    def size(self) -> int:
        """Bytes the store takes on disk (or in memory for a memory engine)."""

    def size_in_use(self) -> int:
        """Bytes holding live data; ``size() - size_in_use()`` is what defragment frees."""

    def defragment(self) -> None:
        """Give back the space that deleted data still takes. Contents are unchanged."""

    def close(self) -> None:
        """Flush and release every resource. The backend is unusable afterwards."""


@runtime_checkable
class Engine(Protocol):
    """What an engine plugin registers: a name, an options schema, and ``open``.

    ``options`` is the mapping under ``engine.options`` in the node's YAML, validated
    against ``options_model`` (a pydantic model) before ``open`` is called, so every
    bad value is reported with its field path before anything starts.
    """

    name: str
    options_model: type[pydantic.BaseModel]

    def open(self, path: Path, buckets: Sequence[str], options: Any) -> Backend:
        """Open (creating if absent) the store in directory ``path``.

        ``buckets`` lists every bucket the core will use; ``options`` is an instance
        of ``options_model``. A memory engine may ignore ``path``.
        """


@runtime_checkable
class DetachedReads(Protocol):
    def read_detached(self) -> ReadTxn:
        """A read transaction like :meth:`Backend.read`'s that one other thread at a time
        may use (and close) while the backend keeps being used on its own thread,
        commits included. Its snapshot is the state when it was opened."""


class Defragmentation(Protocol):
    """One defragmentation in progress (see :class:`OnlineDefragment`)."""

    def run(self) -> None:
        """The long part, on a thread of its own, while the backend keeps serving reads
        and writes on its thread; writes made meanwhile are kept. The core may call it
        again (never two calls at once): a later call takes in the writes made since the
        one before, so that what :meth:`finish` has left to do shrinks. An engine with
        nothing to catch up returns at once."""

    def can_finish(self) -> bool:
        """Whether :meth:`finish` may run now. An engine that swaps files in answers
        False while read transactions it would invalidate are still open."""

    def finish(self) -> None:
        """The short last step, on the backend's thread after :meth:`run` returned and
        :meth:`can_finish` said yes: make the result current, with every write
        committed since :meth:`OnlineDefragment.start_defragment` in it."""


@runtime_checkable
class OnlineDefragment(Protocol):
    def start_defragment(self) -> Defragmentation:
        """Begin a defragmentation, on the backend's thread. At most one at a time;
        :meth:`Backend.defragment` is ``run``, then ``finish``, on one thread."""


def defragment_inline(defrag: Defragmentation) -> None:
    """:meth:`Backend.defragment` for an engine with :class:`OnlineDefragment`: read
    transactions that ``can_finish`` would wait for may become invalid."""
    defrag.run()
    defrag.finish()
