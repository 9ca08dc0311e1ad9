"""The primary's expiry loop: expired leases leave through raft, as revokes.

Every member's lessor holds the same leases; only the primary (the leader) knows when
one expires. It proposes a LeaseRevoke for it, and every member deletes the lease and
its keys when that entry applies. Revokes are rate-limited as etcd's are (at most the
lessor's ``revoke_rate`` a second, proposed in batches every half second, a bounded
number in flight) so that a mass expiry does not crowd out client writes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final

from kvcore.lease.lessor import Lessor

log = logging.getLogger(__name__)

CHECK_SECONDS: Final = 0.5
"""How often expired leases are looked for (etcd's lessor run loop)."""
MAX_PENDING: Final = 16
"""Revoke proposals in flight at once (etcd's maxPendingRevokes)."""


async def run_expiry(
    lessor: Lessor,
    revoke: Callable[[int], Awaitable[object]],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Propose ``revoke(id)`` for every lease the primary ``lessor`` finds expired,
    until cancelled. A failed revoke is retried when the lessor hands the lease out
    again (see :meth:`Lessor.expired`)."""
    pending = asyncio.Semaphore(MAX_PENDING)

    async def revoke_one(lease_id: int) -> None:
        async with pending:
            try:
                await revoke(lease_id)
            except Exception as exc:  # the lessor hands it out again
                log.debug("revoke of expired lease %x failed: %r", lease_id, exc)

    while True:
        await asyncio.sleep(CHECK_SECONDS)
        if not lessor.primary:
            continue
        expired = lessor.expired(clock(), int(lessor.revoke_rate * CHECK_SECONDS))
        if expired:
            log.debug("revoking %d expired leases", len(expired))
            async with asyncio.TaskGroup() as group:
                for lease_id in expired:
                    group.create_task(revoke_one(lease_id))
