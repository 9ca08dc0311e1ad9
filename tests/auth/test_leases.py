"""Leases under auth, kvcore against etcd 3.4: revoking a lease needs WRITE on every key
it holds, so does a put attaching to it; its keys are shown only to who may read them
(etcd 3.5's check, which 3.4.23 lacks); leases that expire are revoked whoever owns
their keys."""

from __future__ import annotations

import time

import pytest
from support.servers import NodeFactory, Server

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .authclient import AuthClient, failure
from .test_tokens import _setup

EXPIRY_SECONDS = 15.0


def _lease_story(server: Server) -> list[str]:
    seen: list[str] = []
    with AuthClient(server.endpoint) as client:
        _setup(client)  # u may read and write k only
        client.call("Auth.AuthEnable", pb.AuthEnableRequest())
        root, user = client.token("root", "rootpw"), client.token("u", "upw")

        def call(method: str, request: object, token: str | None) -> None:
            seen.append(f"{method}: {failure(client.call(method, request, token))}")

        call("Lease.LeaseGrant", pb.LeaseGrantRequest(ID=100, TTL=600), root)
        call("KV.Put", pb.PutRequest(key=b"other", lease=100), root)
        call("KV.Put", pb.PutRequest(key=b"k", lease=100), root)
        call("Lease.LeaseRevoke", pb.LeaseRevokeRequest(ID=100), user)
        call("Lease.LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=100), user)
        call("Lease.LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=100, keys=True), root)
        call("KV.Put", pb.PutRequest(key=b"k", lease=100), user)
        call("Lease.LeaseGrant", pb.LeaseGrantRequest(ID=200, TTL=600), user)
        call("KV.Put", pb.PutRequest(key=b"k", lease=200), user)
        call("Lease.LeaseRevoke", pb.LeaseRevokeRequest(ID=200), user)
        call("Lease.LeaseLeases", pb.LeaseLeasesRequest(), user)
        call("Lease.LeaseRevoke", pb.LeaseRevokeRequest(ID=100), root)
        call("KV.Range", pb.RangeRequest(key=b"other"), root)
    return seen


@pytest.mark.etcd
def test_leases_under_auth_as_etcd(nodes: NodeFactory) -> None:
    kvcore, etcd = nodes.start("kvcore"), nodes.start("etcd")
    got = _lease_story(kvcore)
    assert got == _lease_story(etcd)
    assert "Lease.LeaseRevoke: PERMISSION_DENIED: etcdserver: permission denied" in got


def test_lease_keys_are_shown_to_who_may_read_them(nodes: NodeFactory) -> None:
    server = nodes.start("kvcore")
    with AuthClient(server.endpoint) as client:
        _setup(client)
        client.call("Auth.AuthEnable", pb.AuthEnableRequest())
        root, user = client.token("root", "rootpw"), client.token("u", "upw")
        client.call("Lease.LeaseGrant", pb.LeaseGrantRequest(ID=100, TTL=600), root)
        client.call("KV.Put", pb.PutRequest(key=b"k", lease=100), root)

        def ttl(keys: bool, token: str | None) -> str:
            request = pb.LeaseTimeToLiveRequest(ID=100, keys=keys)
            return failure(client.call("Lease.LeaseTimeToLive", request, token))

        assert ttl(True, user) == "ok"
        client.call("KV.Put", pb.PutRequest(key=b"other", lease=100), root)
        assert ttl(True, user) == "PERMISSION_DENIED: etcdserver: permission denied"
        assert ttl(False, user) == "ok"
        assert ttl(True, None) == "INVALID_ARGUMENT: etcdserver: user name is empty"
        assert ttl(True, root) == "ok"


def test_an_expired_lease_is_revoked_whoever_owns_its_keys(nodes: NodeFactory) -> None:
    server = nodes.start("kvcore")
    with AuthClient(server.endpoint) as client:
        _setup(client)
        client.call("Auth.AuthEnable", pb.AuthEnableRequest())
        root = client.token("root", "rootpw")
        granted = client.call("Lease.LeaseGrant", pb.LeaseGrantRequest(ID=7, TTL=1), root)
        assert failure(granted) == "ok"
        assert failure(client.call("KV.Put", pb.PutRequest(key=b"other", lease=7), root)) == "ok"
        deadline = time.monotonic() + EXPIRY_SECONDS
        while client.call("KV.Range", pb.RangeRequest(key=b"other"), root).count:
            assert time.monotonic() < deadline, "the expired lease's key is still there"
            time.sleep(0.2)
