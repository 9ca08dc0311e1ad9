"""The Lock service under auth reads and writes the lock's keys as its caller, as etcd's
does through its embedded client: a user without WRITE on ``name/`` cannot lock."""

from __future__ import annotations

import grpc
import pytest
from support.rawclient import RpcFailure
from support.servers import NodeFactory, Server

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.v3lockpb import v3lock_pb2 as lpb
from kvcore.api.v3lockpb import v3lock_pb2_grpc

from .authclient import AuthClient, grpc_outcome
from .test_tokens import _setup


def _lock(server: Server, name: bytes, lease: int, token: str) -> str:
    with grpc.insecure_channel(server.endpoint) as channel:
        stub = v3lock_pb2_grpc.LockStub(channel)
        request = lpb.LockRequest(name=name, lease=lease)
        return grpc_outcome(lambda: stub.Lock(request, timeout=10, metadata=[("token", token)]))


def _story(server: Server) -> list[str]:
    with AuthClient(server.endpoint) as client:
        _setup(client)  # u may read and write k only
        client.call("Auth.AuthEnable", pb.AuthEnableRequest())
        user, root = client.token("u", "upw"), client.token("root", "rootpw")
        lease = client.call("Lease.LeaseGrant", pb.LeaseGrantRequest(TTL=60), root)
        assert not isinstance(lease, RpcFailure), lease
    return [_lock(server, b"k", lease.ID, user), _lock(server, b"k", lease.ID, root)]  # type: ignore[attr-defined]


@pytest.mark.etcd
def test_lock_under_auth_as_etcd(nodes: NodeFactory) -> None:
    kvcore, etcd = nodes.start("kvcore"), nodes.start("etcd")
    got = _story(kvcore)
    assert got == _story(etcd)
    assert got == ["UNKNOWN: etcdserver: permission denied", "ok"]
