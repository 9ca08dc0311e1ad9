"""Leases on one kvcore process: keys die with their lease's TTL, keep-alives hold them,
leases and attached keys survive restarts, and a mass expiry does not stall writes."""

from __future__ import annotations

import time

import pytest
from support.cluster import poll
from support.rawclient import RawClient
from support.servers import Server

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .client import keep_alive

pytestmark = pytest.mark.kvcore

# The expiry loop looks every 0.5 s and the revoke goes through raft: a key may outlive
# its TTL by that much, and more on a loaded machine.
EXPIRY_SLACK_SECONDS = 4.0


def exists(client: RawClient, key: bytes) -> bool:
    return client.ok("Range", pb.RangeRequest(key=key)).count == 1


def test_key_disappears_after_its_ttl(kvcore: Server) -> None:
    ttl = 2
    with kvcore.client() as client:
        granted = client.ok("LeaseGrant", pb.LeaseGrantRequest(TTL=ttl))
        granted_at = time.monotonic()
        assert granted.ID > 0 and ttl == granted.TTL
        client.ok("Put", pb.PutRequest(key=b"ttl/k", value=b"v", lease=granted.ID))
        poll("the key to go", lambda: not exists(client, b"ttl/k") or None, ttl + 10)
        lived = time.monotonic() - granted_at
        assert ttl - 0.2 <= lived <= ttl + EXPIRY_SLACK_SECONDS, lived
        ttl_now = client.ok("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=granted.ID))
        assert ttl_now.TTL == -1  # revoked: unknown from now on
        listed = client.ok("LeaseLeases", pb.LeaseLeasesRequest()).leases
        assert granted.ID not in [lease.ID for lease in listed]


def test_keep_alive_holds_a_lease_past_its_ttl(kvcore: Server) -> None:
    with kvcore.client() as client:
        lease = client.ok("LeaseGrant", pb.LeaseGrantRequest(ID=5, TTL=2)).ID
        client.ok("Put", pb.PutRequest(key=b"ka/k", value=b"v", lease=lease))
        held_until = time.monotonic() + 4  # twice the TTL
        while time.monotonic() < held_until:
            answers = keep_alive(kvcore.endpoint, [lease])
            assert [(a.ID, a.TTL) for a in answers] == [(lease, 2)]
            time.sleep(0.5)
        assert exists(client, b"ka/k")
        poll("the key to go", lambda: not exists(client, b"ka/k") or None, 2 + 10)


def test_leases_and_keys_survive_restarts(kvcore: Server) -> None:
    with kvcore.client() as client:
        client.ok("LeaseGrant", pb.LeaseGrantRequest(ID=100, TTL=600))
        client.ok("LeaseGrant", pb.LeaseGrantRequest(ID=101, TTL=3))
        client.ok("Put", pb.PutRequest(key=b"r/a", value=b"1", lease=100))
        client.ok("Put", pb.PutRequest(key=b"r/b", value=b"2", lease=100))
        client.ok("Put", pb.PutRequest(key=b"r/c", value=b"3", lease=101))
    kvcore.kill9()
    kvcore.start()
    with kvcore.client() as client:
        listed = client.ok("LeaseLeases", pb.LeaseLeasesRequest())
        assert sorted(lease.ID for lease in listed.leases) == [100, 101]
        kept = client.ok("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=100, keys=True))
        assert (kept.grantedTTL, sorted(kept.keys)) == (600, [b"r/a", b"r/b"])
        assert 590 <= kept.TTL <= 600  # renewed on restart: the leader promoted it
        # The short lease expires on the restarted node too, and takes its key.
        poll("r/c to go", lambda: not exists(client, b"r/c") or None, 3 + 10)
        assert exists(client, b"r/a")
        # A put with the restored lease attaches to it.
        client.ok("Put", pb.PutRequest(key=b"r/d", value=b"4", lease=100))
    kvcore.restart()  # a clean stop this time
    with kvcore.client() as client:
        kept = client.ok("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=100, keys=True))
        assert sorted(kept.keys) == [b"r/a", b"r/b", b"r/d"]
        assert client.ok("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=101)).TTL == -1
        client.ok("LeaseRevoke", pb.LeaseRevokeRequest(ID=100))
        assert client.ok("Range", pb.RangeRequest(key=b"r/", range_end=b"r0")).count == 0


MASS_LEASES = 300


@pytest.mark.slow  # a load test; tests/lease/test_expiry_loop.py checks the rate itself
def test_mass_expiry_does_not_stall_writes(kvcore: Server) -> None:
    with kvcore.client() as client:
        for i in range(MASS_LEASES):
            client.ok("LeaseGrant", pb.LeaseGrantRequest(ID=1000 + i, TTL=2))
            client.ok("Put", pb.PutRequest(key=b"mass/%d" % i, value=b"v", lease=1000 + i))
        # Some leases were granted seconds ago: expiry is under way or about to start.
        slowest = 0.0
        deadline = time.monotonic() + 2 + 15
        while time.monotonic() < deadline:
            started = time.monotonic()
            client.ok("Put", pb.PutRequest(key=b"writer", value=b"v"))
            slowest = max(slowest, time.monotonic() - started)
            left = client.ok("Range", pb.RangeRequest(key=b"mass/", range_end=b"mass0"))
            if left.count == 0:
                break
        assert left.count == 0, f"{left.count} leased keys still there"
        listed = client.ok("LeaseLeases", pb.LeaseLeasesRequest()).leases
        assert not [lease.ID for lease in listed if 1000 <= lease.ID < 1000 + MASS_LEASES]
        assert slowest < 1.0, f"a write waited {slowest:.2f}s during the mass expiry"
