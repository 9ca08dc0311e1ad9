"""The Lock service answers as etcd's v3lock does: a queue of lockers by create
revision, each woken by the deletion of the key just before its own."""

from __future__ import annotations

import pytest
from support.servers import Server

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.v3lockpb import v3lock_pb2 as lpb

from .client import Recipes, on_both, session_key, until

pytestmark = [pytest.mark.etcd, pytest.mark.kvcore]

LEASES = 0x7E0C_0000_0100  # this module's lease ids start here


def lock_queue(server: Server) -> list[str]:
    """Four lockers on one name: unlock, revoke and cancel each move the queue on."""
    seen: list[str] = []
    name = b"lock-queue"
    with Recipes(server) as r:
        first, second, third, fourth = (r.grant(LEASES + i) for i in range(4))
        held = r.ok("Lock", lpb.LockRequest(name=name, lease=first))
        seen.append(r.text(held))
        seen.append(r.text(r.call("Lock", lpb.LockRequest(name=name, lease=first))))
        waiting = r.start("Lock", lpb.LockRequest(name=name, lease=second))
        assert r.waits(waiting, session_key(name, second)), "a second locker got a held lock"
        behind = r.start("Lock", lpb.LockRequest(name=name, lease=third))
        assert r.waits(behind, session_key(name, third))
        seen.append(r.keys(name + b"/"))
        seen.append(r.text(r.call("Unlock", lpb.UnlockRequest(key=held.key))))
        seen.append(r.outcome(waiting))
        assert r.waits(behind, session_key(name, third)), "the third woke before the second let go"
        r.revoke(second)  # the holder's lease ends
        seen.append(r.outcome(behind))
        r.give_up("Lock", lpb.LockRequest(name=name, lease=fourth), session_key(name, fourth))
        seen.append(r.keys(name + b"/"))
        r.revoke(first, third, fourth)
    return seen


def lock_errors(server: Server) -> list[str]:
    seen: list[str] = []
    name = b"lock-errors"
    with Recipes(server) as r:
        seen.append(r.text(r.call("Lock", lpb.LockRequest(name=name, lease=LEASES + 0xFF))))
        seen.append(r.text(r.call("Lock", lpb.LockRequest(name=name, lease=-5))))
        seen.append(r.text(r.call("Unlock", lpb.UnlockRequest())))
        seen.append(r.text(r.call("Unlock", lpb.UnlockRequest(key=name + b"/none"))))
        # Lease 0: the server grants the locker a lease of 60 s that nobody keeps alive.
        held = r.ok("Lock", lpb.LockRequest(name=name))
        lease = r.lease_of(held.key)
        seen.append(r.text(held))
        alive = r.kv.ok("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=lease, keys=True))
        assert list(alive.keys) == [held.key]
        seen.append(f"granted TTL {alive.grantedTTL}")
        seen.append(r.keys(name + b"/"))
        r.revoke(lease)
        seen.append(r.keys(name + b"/"))
    return seen


def lock_expiry(server: Server) -> list[str]:
    """The holder's lease expires: its key goes and the next locker holds the lock."""
    seen: list[str] = []
    name = b"lock-expiry"
    with Recipes(server) as r:
        short, waiter = r.grant(LEASES + 0x10, ttl=3), r.grant(LEASES + 0x11)
        seen.append(r.text(r.call("Lock", lpb.LockRequest(name=name, lease=short))))
        waiting = r.start("Lock", lpb.LockRequest(name=name, lease=waiter))
        assert r.waits(waiting, session_key(name, waiter))
        seen.append(r.outcome(waiting))
        seen.append(r.keys(name + b"/"))
        r.revoke(waiter)
    return seen


@pytest.mark.parametrize("session", [lock_queue, lock_errors, lock_expiry])
def test_lock_as_etcd(pair: tuple[Server, Server], session) -> None:
    ours, theirs = on_both(session, pair)
    assert "\n".join(ours) == "\n".join(theirs)


def test_waiter_whose_lease_ended_is_told(kvcore: Server) -> None:
    """A locker whose own lease ends while it waits is told so once the lock is free
    (etcd 3.5's Mutex; 3.4's answered as if the lock were held)."""
    name = b"lock-lost"
    with Recipes(kvcore) as r:
        holder, short = r.grant(LEASES + 0x20), r.grant(LEASES + 0x21, ttl=3)
        held = r.ok("Lock", lpb.LockRequest(name=name, lease=holder))
        waiting = r.start("Lock", lpb.LockRequest(name=name, lease=short))
        mine = session_key(name, short)
        assert r.waits(waiting, mine)
        until("the waiter's lease to expire", lambda: not r.exists(mine))
        assert not waiting.done()
        r.ok("Unlock", lpb.UnlockRequest(key=held.key))
        assert r.outcome(waiting) == "error UNKNOWN: mutex: session is expired"
        r.revoke(holder)
