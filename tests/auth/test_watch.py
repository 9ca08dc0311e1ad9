"""Watches under auth: creating one needs READ on its range; a refused one is created
and cancelled at once with etcd's reason, and the stream goes on serving the others."""

from __future__ import annotations

import grpc
import pytest
from integration.compare import Pair
from support.servers import NodeFactory

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc

from .authclient import AuthClient
from .test_etcdctl_auth import USER, _limited_user
from .test_tokens import _setup

DENIED = "rpc error: code = PermissionDenied desc = etcdserver: permission denied"


@pytest.mark.etcd
def test_refused_watches_as_etcd(pair: Pair) -> None:
    _limited_user(pair)  # u: readwrite on p/, read on ro, write from wo on
    pair.script(
        (*USER, "watch", "other"),
        (*USER, "watch", "wo/x"),
        (*USER, "watch", "p", "--prefix"),
        (*USER, "watch", "p/", "p1"),
        ("watch", "p/a"),
    )


def test_a_refused_watch_leaves_the_stream_working(nodes: NodeFactory) -> None:
    server = nodes.start("kvcore")
    with AuthClient(server.endpoint) as client:
        _setup(client)  # u may read and write k only
        client.call("Auth.AuthEnable", pb.AuthEnableRequest())
        user, root = client.token("u", "upw"), client.token("root", "rootpw")
        creates = [
            pb.WatchCreateRequest(key=b"other"),
            pb.WatchCreateRequest(key=b"k"),
            pb.WatchCreateRequest(key=b"a", range_end=b"\0"),  # every key from a on
        ]
        with grpc.insecure_channel(server.endpoint) as channel:
            stream = rpc_pb2_grpc.WatchStub(channel).Watch(
                iter([pb.WatchRequest(create_request=c) for c in creates]),
                metadata=[("token", user)],
                timeout=10,
            )
            answers = [next(stream) for _ in creates]
            client.call("KV.Put", pb.PutRequest(key=b"k", value=b"v"), root)
            event = next(stream)
    refused = [(a.watch_id, a.cancel_reason) for a in answers if a.canceled]
    assert refused == [(-1, DENIED), (-1, DENIED)]
    (watching,) = [a.watch_id for a in answers if not a.canceled]
    assert all(a.created for a in answers)
    assert event.watch_id == watching and [e.kv.key for e in event.events] == [b"k"]
