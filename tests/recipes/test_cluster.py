"""Lock and Election on a three-member kvcore cluster: callers on different members
queue for one lock and one election, and the leader's expiry of a holder's lease hands
the lock to a waiter on another member."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.cluster import KvcoreCluster

from kvcore.api.v3electionpb import v3election_pb2 as epb
from kvcore.api.v3lockpb import v3lock_pb2 as lpb

from .client import Recipes, session_key

pytestmark = [pytest.mark.kvcore, pytest.mark.slow]

LEASES = 0x7EC1_0000_0100


def test_recipes_across_members(make_kvcore_cluster: Callable[..., KvcoreCluster]) -> None:
    cluster = make_kvcore_cluster()
    leader = cluster.wait_leader()
    first, second = (m for m in cluster.live() if m is not leader)
    with Recipes(first) as a, Recipes(second) as b:
        short, waiter = a.grant(LEASES, ttl=2), b.grant(LEASES + 1)
        name = b"cluster-lock"
        held = a.ok("Lock", lpb.LockRequest(name=name, lease=short))
        assert held.key == session_key(name, short)
        waiting = b.start("Lock", lpb.LockRequest(name=name, lease=waiter))
        assert b.waits(waiting, session_key(name, waiter))
        taken = waiting.result()  # once the leader expires the holder's lease
        assert taken.key == session_key(name, waiter)
        assert not a.exists(held.key)
        b.ok("Unlock", lpb.UnlockRequest(key=taken.key))

        name = b"cluster-elect"
        won = b.ok("Campaign", epb.CampaignRequest(name=name, lease=waiter, value=b"b"))
        observer = a.observe(name)
        assert next(observer).kv.value == b"b"
        other = a.grant(LEASES + 2)
        waiting = a.start("Campaign", epb.CampaignRequest(name=name, lease=other, value=b"a"))
        assert a.waits(waiting, session_key(name, other))
        b.ok("Proclaim", epb.ProclaimRequest(leader=won.leader, value=b"b2"))
        assert next(observer).kv.value == b"b2"
        b.ok("Resign", epb.ResignRequest(leader=won.leader))
        assert waiting.result().leader.key == session_key(name, other)
        assert next(observer).kv.value == b"a"
        observer.cancel()
        b.revoke(waiter, other)
