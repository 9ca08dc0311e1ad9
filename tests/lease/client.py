"""LeaseKeepAlive, the one streaming call the lease tests make (unary ones go through
support.rawclient)."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from support.rawclient import CALL_TIMEOUT_SECONDS, RpcFailure

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc


def keep_alive(endpoint: str, ids: Iterable[int]) -> list[pb.LeaseKeepAliveResponse] | RpcFailure:
    """One KeepAlive stream carrying a request per id; its answers, in order."""
    requests = [pb.LeaseKeepAliveRequest(ID=i) for i in ids]
    with grpc.insecure_channel(endpoint) as channel:
        stub = rpc_pb2_grpc.LeaseStub(channel)
        try:
            return list(stub.LeaseKeepAlive(iter(requests), timeout=CALL_TIMEOUT_SECONDS))
        except grpc.RpcError as exc:
            return RpcFailure(exc.code().name, exc.details() or "")
