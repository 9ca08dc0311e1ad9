"""The lessor: every lease by id, its TTL, its expiry and the keys attached to it.

Pure logic with no clock of its own: every call that needs the time takes ``now``, a
monotonic time in seconds (the server passes ``time.monotonic()``), so tests drive
time by hand.

Who changes what:

* Raft's apply path, on every member: :meth:`Lessor.grant` and :meth:`Lessor.revoke`,
  inside the backend write transaction of the entry, so a lease and its keys change
  together (the lease bucket holds etcd's ``leasepb.Lease`` by 8-byte big-endian id).
* The MVCC store, through :class:`kvcore.mvcc.store.LeaseAttacher`: ``key_put`` and
  ``key_deleted`` on every write and when it rebuilds its index on open, so keys are
  attached with no record of their own (the key bucket is the truth, as in etcd).
* The leader only (the *primary*): :meth:`renew` (keep-alives), :meth:`expired` (what
  to revoke through raft), expiries. :meth:`promote` makes a lessor primary and
  restarts every lease's clock; :meth:`demote` stops expiry (a follower's leases never
  expire by themselves: they go when the leader's revoke is applied).
"""

from __future__ import annotations

import heapq
import math
import struct
from dataclasses import dataclass, field
from typing import Final, Protocol

from kvcore import errors, schema
from kvcore.api.leasepb.lease_pb2 import Lease as LeaseRecord
from kvcore.backend import ReadTxn, WriteTxn

MAX_TTL: Final = 9_000_000_000
"""etcd's MaxLeaseTTL, in seconds."""
REVOKE_RATE: Final = 1000
"""Expired leases revoked per second at most (etcd's leaseRevokeRate)."""
FOREVER: Final = math.inf
"""The expiry of every lease on a lessor that is not primary."""
# How long an expired lease that was handed out for revoking waits before it is handed
# out again, should the revoke have been lost (etcd's expiredLeaseRetryInterval).
EXPIRED_RETRY_SECONDS: Final = 3.0

_ID = struct.Struct(">q")


class RangeDeleter(Protocol):
    """What a revoke deletes keys through (``kvcore.mvcc.store.TxnWrite`` is one)."""

    def delete_range(self, key: bytes, end: bytes | None = None) -> tuple[int, int]: ...


def min_ttl(election_timeout_ms: int, heartbeat_interval_ms: int) -> int:
    """etcd's minimum lease TTL in seconds: 1.5 election timeouts, rounded up.

    With etcd's defaults (1000 / 100 ms) that is 2 s. Ticks are whole, as in etcd.
    """
    election_ticks = election_timeout_ms // heartbeat_interval_ms
    return math.ceil((3 * election_ticks) // 2 * heartbeat_interval_ms / 1000)


@dataclass(slots=True, eq=False)
class Lease:
    id: int
    ttl: int
    """The granted TTL in seconds (raised to the minimum)."""
    expiry: float = FOREVER
    keys: set[bytes] = field(default_factory=set)
    check_at: float = FOREVER
    """When the expiry queue next looks at this lease; stale queue entries differ."""

    def remaining(self, now: float) -> float:
        """Seconds left (negative once expired; infinite on a non-primary lessor)."""
        return self.expiry - now

    def sorted_keys(self) -> list[bytes]:
        return sorted(self.keys)


class Lessor:
    """Leases in memory, mirrored into the backend's lease bucket by grant and revoke."""

    def __init__(self, min_ttl: int, revoke_rate: int = REVOKE_RATE) -> None:
        self.min_ttl = min_ttl
        self.revoke_rate = revoke_rate
        self._leases: dict[int, Lease] = {}
        self._key_lease: dict[bytes, int] = {}
        self._queue: list[tuple[float, int]] = []  # (check_at, id), stale entries skipped
        self.primary = False

    # --- persistence --------------------------------------------------------------

    def load(self, txn: ReadTxn) -> None:
        """Read every lease from the lease bucket (keys attach as the store opens)."""
        self._leases.clear()
        self._key_lease.clear()
        self._queue.clear()
        self.primary = False
        for _, data in txn.range(schema.LEASE, b""):
            record = LeaseRecord.FromString(data)
            self._leases[record.ID] = Lease(record.ID, max(record.TTL, self.min_ttl))

    # --- raft's apply path ----------------------------------------------------------

    def grant(self, btx: WriteTxn, lease_id: int, ttl: int, now: float) -> Lease:
        """Create lease ``lease_id`` (not 0). Raises LEASE_TTL_TOO_LARGE, LEASE_EXIST."""
        if ttl > MAX_TTL:
            raise errors.LEASE_TTL_TOO_LARGE
        if lease_id in self._leases:
            raise errors.LEASE_EXIST
        lease = Lease(lease_id, max(ttl, self.min_ttl))
        self._leases[lease_id] = lease
        record = LeaseRecord(ID=lease_id, TTL=lease.ttl)
        btx.put(schema.LEASE, _ID.pack(lease_id), record.SerializeToString())
        if self.primary:
            self._refresh(lease, now, 0.0)
        return lease

    def revoke(self, btx: WriteTxn, lease_id: int, deleter: RangeDeleter) -> None:
        """Delete the lease's keys through ``deleter`` (in key order, so every member
        writes the same revisions) and the lease. Raises LEASE_NOT_FOUND, unwritten."""
        lease = self._leases.get(lease_id)
        if lease is None:
            raise errors.LEASE_NOT_FOUND
        for key in lease.sorted_keys():
            deleter.delete_range(key)  # detaches the key through key_deleted
        del self._leases[lease_id]
        btx.delete(schema.LEASE, _ID.pack(lease_id))

    # --- the store's LeaseAttacher ------------------------------------------------------

    def key_put(self, key: bytes, lease: int) -> None:
        self.key_deleted(key)
        attached = self._leases.get(lease) if lease else None
        if attached is not None:
            attached.keys.add(key)
            self._key_lease[key] = lease

    def key_deleted(self, key: bytes) -> None:
        previous = self._key_lease.pop(key, None)
        if previous is not None:
            owner = self._leases.get(previous)
            if owner is not None:
                owner.keys.discard(key)

    # --- reads ----------------------------------------------------------------------

    def exists(self, lease_id: int) -> bool:
        return lease_id in self._leases

    def lookup(self, lease_id: int) -> Lease | None:
        return self._leases.get(lease_id)

    def leases(self) -> list[Lease]:
        """Every lease, soonest expiry first (by id among equals)."""
        return sorted(self._leases.values(), key=lambda lease: (lease.expiry, lease.id))

    def __len__(self) -> int:
        return len(self._leases)

    # --- the primary's clock ----------------------------------------------------------

    def renew(self, lease_id: int, now: float) -> int:
        """Restart the lease's clock; returns its TTL. Raises LEASE_NOT_FOUND.

        Only on the primary, and only for a lease not yet expired: the caller checks
        :attr:`primary` and :meth:`Lease.remaining` first (an expired lease is being
        revoked, and etcd answers its renewal once the revoke is done).
        """
        lease = self._leases.get(lease_id)
        if lease is None:
            raise errors.LEASE_NOT_FOUND
        self._refresh(lease, now, 0.0)
        return lease.ttl

    def promote(self, extend: float, now: float) -> None:
        """Become primary: every lease expires its TTL plus ``extend`` seconds from now,
        so none dies early because the previous leader died (etcd's Promote)."""
        self.primary = True
        self._queue.clear()
        for lease in self._leases.values():
            self._refresh(lease, now, extend)
        if len(self._leases) >= self.revoke_rate:
            self._spread_expiries(extend, now)

    def _spread_expiries(self, extend: float, now: float) -> None:
        """Push back expiries that pile up beyond 3/4 of the revoke rate in a one-second
        window, so that leases all renewed at once do not all expire at once (etcd's
        Promote does the same)."""
        per_second = 3 * self.revoke_rate // 4  # leaves room for leases already piled up
        leases = sorted(self._leases.values(), key=lambda lease: lease.expiry)
        base = leases[0].remaining(now)
        window_end = base + 1.0
        in_window = 0
        for lease in leases:
            remaining = lease.remaining(now)
            if remaining > window_end:
                base, window_end, in_window = remaining, remaining + 1.0, 1
                continue
            in_window += 1
            if in_window <= per_second:
                continue
            # A lease n seconds past the window's start is pushed back n seconds less.
            delay = in_window / per_second - (remaining - base)
            window_end = base + delay
            self._refresh(lease, now, delay + extend)

    def demote(self) -> None:
        """Stop being primary: no lease expires here any more."""
        self.primary = False
        self._queue.clear()
        for lease in self._leases.values():
            lease.expiry = lease.check_at = FOREVER

    def expired(self, now: float, limit: int) -> list[int]:
        """Up to ``limit`` ids of expired leases to revoke, soonest expiry first.

        A lease handed out is handed out again after EXPIRED_RETRY_SECONDS if it still
        exists then (its revoke was lost, say to a leader change).
        """
        found: list[int] = []
        while self._queue and len(found) < limit:
            check_at, lease_id = self._queue[0]
            lease = self._leases.get(lease_id)
            if lease is None or lease.check_at != check_at:
                heapq.heappop(self._queue)  # revoked or renewed since
                continue
            if check_at > now:
                break
            found.append(lease_id)
            lease.check_at = now + EXPIRED_RETRY_SECONDS
            heapq.heapreplace(self._queue, (lease.check_at, lease_id))
        return found

    def _refresh(self, lease: Lease, now: float, extend: float) -> None:
        lease.expiry = lease.check_at = now + extend + lease.ttl
        heapq.heappush(self._queue, (lease.check_at, lease.id))
