"""The Election service under auth reads the election's keys as its caller, as etcd's
does through its embedded client: READ on ``name/`` is needed."""

from __future__ import annotations

import grpc
import pytest
from support.servers import NodeFactory, Server

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.v3electionpb import v3election_pb2 as epb
from kvcore.api.v3electionpb import v3election_pb2_grpc

from .authclient import AuthClient, grpc_outcome
from .test_tokens import _setup


def _leader(server: Server, name: bytes, token: str | None) -> str:
    metadata = [("token", token)] if token else None
    with grpc.insecure_channel(server.endpoint) as channel:
        stub = v3election_pb2_grpc.ElectionStub(channel)
        request = epb.LeaderRequest(name=name)
        return grpc_outcome(lambda: stub.Leader(request, timeout=10, metadata=metadata))


def _story(server: Server) -> list[str]:
    with AuthClient(server.endpoint) as client:
        _setup(client)  # u may read and write k only
        client.call("Auth.AuthEnable", pb.AuthEnableRequest())
        user, root = client.token("u", "upw"), client.token("root", "rootpw")
    return [_leader(server, b"e", user), _leader(server, b"e", None), _leader(server, b"e", root)]


@pytest.mark.etcd
@pytest.mark.slow  # the default run keeps to KV, auth, lease and watch
def test_election_leader_under_auth_as_etcd(nodes: NodeFactory) -> None:
    kvcore, etcd = nodes.start("kvcore"), nodes.start("etcd")
    got = _story(kvcore)
    assert got == _story(etcd)
    assert got[0] == "UNKNOWN: etcdserver: permission denied"  # etcd passes it on so
