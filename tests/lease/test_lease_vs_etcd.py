"""The Lease service's answers, errors included, against real etcd's for the same calls.

Both servers get the same requests with the same lease ids; responses are compared
with header ids taken out (revisions stay: both stores start empty and see the same
requests, test after test).
"""

from __future__ import annotations

import pytest
from support.normalize import render
from support.servers import Server

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .client import keep_alive

pytestmark = [pytest.mark.kvcore, pytest.mark.etcd]

MAX_TTL = 9_000_000_000


def both(kvcore: Server, etcd: Server, steps: list[tuple[str, object]]) -> None:
    """Run ``steps`` on each server; every answer must read the same."""
    answers = []
    for server in (kvcore, etcd):
        with server.client() as client:
            answers.append([render(client.call(method, req)) for method, req in steps])
    for (method, req), mine, theirs in zip(steps, *answers, strict=True):
        assert mine == theirs, f"{method} {req}"


def test_grant_ttls_and_errors(kvcore: Server, etcd: Server) -> None:
    both(
        kvcore,
        etcd,
        [
            ("LeaseGrant", pb.LeaseGrantRequest(ID=1, TTL=0)),  # raised to the minimum
            ("LeaseGrant", pb.LeaseGrantRequest(ID=2, TTL=1)),
            ("LeaseGrant", pb.LeaseGrantRequest(ID=3, TTL=-5)),
            ("LeaseGrant", pb.LeaseGrantRequest(ID=4, TTL=60)),
            ("LeaseGrant", pb.LeaseGrantRequest(ID=5, TTL=MAX_TTL)),
            ("LeaseGrant", pb.LeaseGrantRequest(ID=6, TTL=MAX_TTL + 1)),
            ("LeaseGrant", pb.LeaseGrantRequest(ID=4, TTL=60)),  # exists
            ("LeaseGrant", pb.LeaseGrantRequest(ID=-7, TTL=60)),
            # Gone before the shortest TTL ends, so that no later step sees them expire.
            *(("LeaseRevoke", pb.LeaseRevokeRequest(ID=i)) for i in (1, 2, 3, 4, 5, -7)),
        ],
    )


def test_revoke_and_puts_with_leases(kvcore: Server, etcd: Server) -> None:
    both(
        kvcore,
        etcd,
        [
            ("LeaseRevoke", pb.LeaseRevokeRequest(ID=99)),  # unknown
            ("Put", pb.PutRequest(key=b"l/a", value=b"1", lease=99)),  # unknown lease
            ("LeaseGrant", pb.LeaseGrantRequest(ID=10, TTL=60)),
            ("Put", pb.PutRequest(key=b"l/a", value=b"1", lease=10)),
            ("Put", pb.PutRequest(key=b"l/b", value=b"2", lease=10)),
            ("Put", pb.PutRequest(key=b"l/c", value=b"3")),
            ("Put", pb.PutRequest(key=b"l/a", value=b"4", ignore_lease=True)),
            ("Range", pb.RangeRequest(key=b"l/", range_end=b"l0")),
            ("LeaseRevoke", pb.LeaseRevokeRequest(ID=10)),  # both keys in one revision
            ("Range", pb.RangeRequest(key=b"l/", range_end=b"l0")),
            ("LeaseRevoke", pb.LeaseRevokeRequest(ID=10)),
            ("LeaseGrant", pb.LeaseGrantRequest(ID=11, TTL=60)),
            ("LeaseRevoke", pb.LeaseRevokeRequest(ID=11)),  # no keys: no new revision
            ("Range", pb.RangeRequest(key=b"l/", range_end=b"l0")),
            ("LeaseGrant", pb.LeaseGrantRequest(ID=13, TTL=60)),
            ("LeaseGrant", pb.LeaseGrantRequest(ID=12, TTL=120)),
            ("LeaseLeases", pb.LeaseLeasesRequest()),  # soonest expiry first
            ("LeaseRevoke", pb.LeaseRevokeRequest(ID=12)),
            ("LeaseRevoke", pb.LeaseRevokeRequest(ID=13)),
        ],
    )


def test_time_to_live_and_keep_alive_of_unknown_leases(kvcore: Server, etcd: Server) -> None:
    both(
        kvcore,
        etcd,
        [
            ("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=404)),
            ("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=404, keys=True)),
        ],
    )
    answers = []
    for server in (kvcore, etcd):
        with server.client() as client:
            client.ok("LeaseGrant", pb.LeaseGrantRequest(ID=20, TTL=60))
            answers.append([render(r) for r in keep_alive(server.endpoint, [404, 20, 405])])
            client.ok("LeaseRevoke", pb.LeaseRevokeRequest(ID=20))
    assert answers[0] == answers[1]


def test_time_to_live_of_a_live_lease(kvcore: Server, etcd: Server) -> None:
    answers = []
    for server in (kvcore, etcd):
        with server.client() as client:
            client.ok("LeaseGrant", pb.LeaseGrantRequest(ID=30, TTL=60))
            for key in (b"t/b", b"t/a", b"t/c"):
                client.ok("Put", pb.PutRequest(key=key, value=b"v", lease=30))
            ttl = client.ok("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=30, keys=True))
            bare = client.ok("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=30))
            # etcd lists attached keys in no particular order.
            answers.append((ttl.ID, ttl.grantedTTL, sorted(ttl.keys), list(bare.keys)))
            client.ok("LeaseRevoke", pb.LeaseRevokeRequest(ID=30))
            # Whole seconds left, truncated: 59 (or 58 on a slow machine), never 60.
            assert 55 <= ttl.TTL <= 59, ttl
    assert answers[0] == answers[1] == (30, 60, [b"t/a", b"t/b", b"t/c"], [])
