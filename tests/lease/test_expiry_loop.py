"""The primary's expiry loop: expired leases are proposed for revoking at the lessor's
revoke rate, in half-second batches, and a non-primary proposes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from kvcore_memory import MemoryEngine, MemoryOptions

from kvcore import schema
from kvcore.lease import expiry
from kvcore.lease.lessor import Lessor

RATE = 10  # 5 revokes a batch
NOW = 1000.0  # every lease below has expired by then


def expired_lessor(count: int, primary: bool) -> Lessor:
    backend = MemoryEngine().open(Path("."), schema.ALL_BUCKETS, MemoryOptions())
    lessor = Lessor(min_ttl=1, revoke_rate=RATE)
    if primary:
        lessor.promote(extend=0.0, now=0.0)
    with backend.write() as btx:
        for lease_id in range(1, count + 1):
            lessor.grant(btx, lease_id, 5, now=0.0)
        btx.commit()
    return lessor


async def run_for(lessor: Lessor, seconds: float) -> list[tuple[float, int]]:
    """What the loop proposed in ``seconds``: (loop time, lease id) each."""
    proposed: list[tuple[float, int]] = []
    loop = asyncio.get_running_loop()

    async def revoke(lease_id: int) -> None:
        proposed.append((loop.time(), lease_id))

    task = asyncio.create_task(expiry.run_expiry(lessor, revoke, clock=lambda: NOW))
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return proposed


def test_revokes_go_out_in_batches_at_the_rate() -> None:
    lessor = expired_lessor(30, primary=True)
    proposed = asyncio.run(run_for(lessor, 3.5 * expiry.CHECK_SECONDS))
    assert [lease_id for _, lease_id in proposed] == list(range(1, len(proposed) + 1))
    batches: list[list[float]] = []
    for at, _ in proposed:
        if batches and at - batches[-1][0] < expiry.CHECK_SECONDS / 2:
            batches[-1].append(at)
        else:
            batches.append([at])
    assert len(batches) >= 2, proposed  # a loaded machine may fit fewer than three
    assert all(len(batch) == RATE // 2 for batch in batches), proposed


def test_a_lessor_that_is_not_primary_proposes_nothing() -> None:
    lessor = expired_lessor(3, primary=False)
    assert asyncio.run(run_for(lessor, 2.5 * expiry.CHECK_SECONDS)) == []
