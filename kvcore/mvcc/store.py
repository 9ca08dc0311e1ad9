"""The MVCC key-value store: history in the backend's key bucket, found through an index.

Every version of every key is a serialized ``mvccpb.KeyValue`` stored in the ``key``
bucket under its revision bytes (``kvcore.mvcc.revision``); a delete stores a
KeyValue holding only the key, under the revision bytes with the tombstone marker.
The :class:`~kvcore.mvcc.index.Index` maps keys to revisions and is rebuilt from the
bucket when a :class:`KVStore` opens.

Writes go through a :class:`TxnWrite` over a backend write transaction the caller
owns, so one backend transaction can carry many requests (an apply batch)::

    with backend.write() as btx:
        w = store.write(btx)      # one main revision
        w.put(b"k", b"v")         # sub revision 0
        w.delete_range(b"a", b"c")  # sub revisions 1, 2, ...
        w.end()                   # current_revision += 1 if anything changed
        ...                       # more TxnWrites, the applied index, ...
        btx.commit()

Rules for the caller, who owns ``btx``:

* The index changes as a TxnWrite writes and ``current_revision`` when it ends; the
  backend only at ``btx.commit()``. Commit before the store serves another read (end
  and commit without yielding to the event loop in between).
* The store is not thread-safe: reads and writes must not run at the same time.
* A request that fails must fail before its first write (the applier checks requests
  first, as etcd does). A ``btx`` aborted after a TxnWrite wrote leaves the store ahead
  of the backend: open a new KVStore over the backend to recover.

Ends of ranges follow etcd's convention: ``end=None`` is the single key ``key``,
``end=b""`` is every key from ``key`` on, otherwise ``[key, end)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from kvcore import errors, schema
from kvcore.api.mvccpb.kv_pb2 import KeyValue
from kvcore.backend import Backend, ReadTxn, WriteTxn
from kvcore.mvcc.index import Index, TreeIndex
from kvcore.mvcc.revision import Revision, is_tombstone

# An empty store is at revision 1, as in etcd: the first write is revision 2.
_FIRST_REVISION: Final = 1
# Below every revision, so that compacting at 0 succeeds once, as in etcd.
_NEVER_COMPACTED: Final = -1


class LeaseAttacher(Protocol):
    """What the store tells the lessor, so that ``lease`` never imports ``mvcc``."""

    def key_put(self, key: bytes, lease: int) -> None:
        """``key`` now belongs to ``lease`` (0: to none); it leaves any previous lease."""

    def key_deleted(self, key: bytes) -> None:
        """``key`` was deleted; it leaves its lease, if any."""


# Told of each TxnWrite that changed something, as it ends: (its revision, its changes).
# The changes are not durable yet: the backend transaction commits later.
ChangeObserver = Callable[[int, list[KeyValue]], None]


@dataclass(slots=True)
class RangeResult:
    kvs: list[KeyValue]
    """The versions found, in key order (empty for a count-only range)."""
    count: int
    """How many keys the range holds at the revision read, whatever the limit."""
    rev: int
    """The store's revision when read (etcd's header revision), not the one read at."""


class KVStore:
    """Multi-version key-value history over a :class:`~kvcore.backend.Backend`.

    Opening restores the index, the current revision and the compaction state from the
    ``key`` and ``meta`` buckets, and finishes a compaction that was cut short.
    """

    def __init__(
        self,
        backend: Backend,
        index: Index | None = None,
        leases: LeaseAttacher | None = None,
        observer: ChangeObserver | None = None,
    ) -> None:
        self._backend = backend
        self.index: Index = TreeIndex() if index is None else index
        self._leases = leases
        self._observer = observer
        self.current_revision = _FIRST_REVISION
        self.compact_revision = _NEVER_COMPACTED
        self._purge: _Purge | None = None
        self._restore()

    # --- reads --------------------------------------------------------------------

    def range(
        self,
        key: bytes,
        end: bytes | None = None,
        rev: int = 0,
        limit: int = 0,
        count_only: bool = False,
    ) -> RangeResult:
        """Read the keys in the range as of ``rev`` (0: now), at most ``limit`` of them.

        Raises ``errors.FUTURE_REV`` above the current revision and ``errors.COMPACTED``
        below the compaction revision.
        """
        with self._backend.read() as txn:
            return self._range(txn, self.current_revision, key, end, rev, limit, count_only)

    def _range(
        self,
        txn: ReadTxn,
        current: int,
        key: bytes,
        end: bytes | None,
        rev: int,
        limit: int,
        count_only: bool,
    ) -> RangeResult:
        if rev > current:
            raise errors.FUTURE_REV
        if rev <= 0:
            rev = current
        if rev < self.compact_revision:
            raise errors.COMPACTED
        count = self.index.count(key, end, rev)
        if count_only:
            return RangeResult([], count, current)
        kvs = []
        for _, modified in self.index.range(key, end, rev, limit):
            data = txn.get(schema.KEY, modified.to_bytes())
            if data is None:
                raise RuntimeError(f"index points at revision {modified} missing from storage")
            kvs.append(KeyValue.FromString(data))
        return RangeResult(kvs, count, current)

    def history(self, first: int, last: int) -> list[tuple[bytes, KeyValue]]:
        """Every change stored at main revisions ``first`` to ``last``, in revision order,
        as (revision bytes, KeyValue): a tombstone's bytes carry the marker and its
        KeyValue only the key. Compacted changes are gone."""
        start = Revision(first).to_bytes()
        end = Revision(last + 1).to_bytes()
        with self._backend.read() as txn:
            stored = txn.range(schema.KEY, start, end)
            return [(rev, KeyValue.FromString(data)) for rev, data in stored]

    # --- writes -------------------------------------------------------------------

    def write(self, btx: WriteTxn | ReadTxn) -> TxnWrite:
        """Start one main revision's worth of changes inside ``btx``.

        Over a read transaction only the TxnWrite's reads may be used (a read-only txn).
        """
        return TxnWrite(self, btx)

    def compact(self, btx: WriteTxn, rev: int) -> None:
        """Forget history below ``rev``, keeping each live key's version at ``rev``.

        Raises ``errors.COMPACTED`` if ``rev`` is not above the last compaction and
        ``errors.FUTURE_REV`` if it is above the current revision. Reads below ``rev``
        fail from now on; the old versions leave the backend afterwards, in steps of
        :meth:`purge_step` (as etcd's compaction does, so that a large compaction never
        holds up writes). The scheduled revision is recorded in ``btx`` now, the
        finished one when the last step is done.
        """
        if rev <= self.compact_revision:
            raise errors.COMPACTED
        if rev > self.current_revision:
            raise errors.FUTURE_REV
        btx.put(schema.META, schema.META_SCHEDULED_COMPACT_REV, Revision(rev).to_bytes())
        self._schedule(rev)

    def _schedule(self, rev: int) -> None:
        # A newer compaction supersedes an unfinished one: its scan starts over and
        # also removes whatever the older one had not reached.
        self.compact_revision = rev
        self._purge = _Purge(rev, self.index.compact(rev))

    @property
    def compacting(self) -> bool:
        """Whether a compaction still has versions to remove from the backend."""
        return self._purge is not None

    def purge_step(self, btx: WriteTxn, limit: int) -> bool:
        """Remove up to ``limit`` compacted versions in ``btx``; True while more remain."""
        purge = self._purge
        if purge is None:
            return False
        end = Revision(purge.rev + 1).to_bytes()
        pairs = list(btx.range(schema.KEY, purge.start, end, limit=limit))
        for rev_bytes, _ in pairs:
            if Revision.from_bytes(rev_bytes) not in purge.keep:
                btx.delete(schema.KEY, rev_bytes)
        if len(pairs) == limit:
            purge.start = pairs[-1][0] + b"\x00"
            return True
        marker = Revision(purge.rev).to_bytes()
        btx.put(schema.META, schema.META_FINISHED_COMPACT_REV, marker)
        self._purge = None
        return False

    # --- restore ------------------------------------------------------------------

    def _restore(self) -> None:
        with self._backend.read() as txn:
            finished = _meta_revision(txn, schema.META_FINISHED_COMPACT_REV)
            scheduled = _meta_revision(txn, schema.META_SCHEDULED_COMPACT_REV)
            self.compact_revision = _NEVER_COMPACTED if finished is None else finished
            key_leases: dict[bytes, int] = {}
            last = self.current_revision
            for rev_bytes, data in txn.range(schema.KEY, b""):
                last = self._restore_one(rev_bytes, KeyValue.FromString(data), key_leases)
        # Compaction may have removed every version up to its revision.
        self.current_revision = max(last, self.compact_revision)
        if self._leases is not None:
            for key, lease in key_leases.items():
                if lease:
                    self._leases.key_put(key, lease)
        if scheduled is not None and scheduled > max(self.compact_revision, 0):
            self._schedule(scheduled)  # a compaction cut short: its purge resumes

    def _restore_one(self, rev_bytes: bytes, kv: KeyValue, key_leases: dict[bytes, int]) -> int:
        rev = Revision.from_bytes(rev_bytes)
        if is_tombstone(rev_bytes):
            self.index.tombstone(kv.key, rev)
            key_leases.pop(kv.key, None)
        elif self.index.known(kv.key):
            self.index.put(kv.key, rev)
            key_leases[kv.key] = kv.lease
        else:
            # The oldest surviving version: older ones may be compacted away.
            self.index.restore(kv.key, Revision(kv.create_revision), rev, kv.version)
            key_leases[kv.key] = kv.lease
        return rev.main


@dataclass(slots=True)
class _Purge:
    """A compaction whose old versions are still being removed from the backend."""

    rev: int
    keep: set[Revision]  # versions at or below ``rev`` that stay (each live key's at rev)
    start: bytes = b""  # where the next step's scan begins


def _meta_revision(txn: ReadTxn, key: bytes) -> int | None:
    data = txn.get(schema.META, key)
    return None if data is None else Revision.from_bytes(data).main


@dataclass(slots=True)
class TxnWrite:
    """One main revision of changes inside a backend write transaction.

    Each put or deleted key takes the next sub revision. Reads see the changes made so
    far. Use it for one request (a put, a delete range, a whole txn), then :meth:`end`.
    """

    _store: KVStore
    _btx: WriteTxn  # or a ReadTxn, for a TxnWrite that only reads
    begin_revision: int = field(init=False)
    """The store's revision when this started; changes go to ``begin_revision + 1``."""
    changes: list[KeyValue] = field(init=False, default_factory=list)
    """Every put version and delete (a KeyValue with key and mod_revision only), in order."""
    _ended: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.begin_revision = self._store.current_revision

    @property
    def revision(self) -> int:
        """The revision reads see: ``begin_revision``, plus one once something changed."""
        return self.begin_revision + 1 if self.changes else self.begin_revision

    def range(
        self,
        key: bytes,
        end: bytes | None = None,
        rev: int = 0,
        limit: int = 0,
        count_only: bool = False,
    ) -> RangeResult:
        """:meth:`KVStore.range`, seeing this transaction's changes."""
        self._check_open()
        return self._store._range(self._btx, self.revision, key, end, rev, limit, count_only)

    def put(self, key: bytes, value: bytes, lease: int = 0) -> int:
        """Write a new version of ``key``; returns the revision written at."""
        self._check_open()
        main = self.begin_revision + 1
        rev = Revision(main, len(self.changes))
        prior = self._store.index.get(key, main)
        kv = KeyValue(
            key=key,
            value=value,
            create_revision=main if prior is None else prior.created.main,
            mod_revision=main,
            version=1 if prior is None else prior.version + 1,
            lease=lease,
        )
        self._btx.put(schema.KEY, rev.to_bytes(), kv.SerializeToString())
        self._store.index.put(key, rev)
        self.changes.append(kv)
        if self._store._leases is not None:
            self._store._leases.key_put(key, lease)
        return main

    def delete_range(self, key: bytes, end: bytes | None = None) -> tuple[int, int]:
        """Delete every key in the range; returns (keys deleted, revision after)."""
        self._check_open()
        main = self.begin_revision + 1
        found = self._store.index.range(key, end, self.revision)
        for found_key, _ in found:
            rev = Revision(main, len(self.changes))
            tomb = KeyValue(key=found_key)
            self._btx.put(schema.KEY, rev.to_bytes(tombstone=True), tomb.SerializeToString())
            self._store.index.tombstone(found_key, rev)
            self.changes.append(KeyValue(key=found_key, mod_revision=main))
            if self._store._leases is not None:
                self._store._leases.key_deleted(found_key)
        return len(found), self.revision

    def end(self) -> None:
        """Finish: the store's revision moves to this one's if anything changed."""
        self._check_open()
        self._ended = True
        if self.changes:
            self._store.current_revision = self.begin_revision + 1
            if self._store._observer is not None:
                self._store._observer(self._store.current_revision, self.changes)

    def _check_open(self) -> None:
        if self._ended:
            raise RuntimeError("TxnWrite used after end()")
