"""etcd's Lease and KV calls over one channel, with errors returned as values (see
support.rawclient), for tests that compare kvcore's answers with etcd's."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf.message import Message
from support.rawclient import CALL_TIMEOUT_SECONDS, Outcome, RpcFailure

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc


class LeaseClient:
    def __init__(self, endpoint: str) -> None:
        self._channel = grpc.insecure_channel(endpoint)
        self._lease = rpc_pb2_grpc.LeaseStub(self._channel)
        self._kv = rpc_pb2_grpc.KVStub(self._channel)

    def call(self, method: str, request: Message) -> Outcome:
        """``method``: a Lease RPC (LeaseGrant, ...) or a KV one (Put, Range)."""
        stub = self._kv if method in ("Put", "Range") else self._lease
        try:
            return getattr(stub, method)(request, timeout=CALL_TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            return RpcFailure(exc.code().name, exc.details() or "")

    def ok(self, method: str, request: Message) -> Message:
        outcome = self.call(method, request)
        assert not isinstance(outcome, RpcFailure), f"{method} failed: {outcome}"
        return outcome

    def keep_alive(self, ids: Iterable[int]) -> list[pb.LeaseKeepAliveResponse] | RpcFailure:
        """One KeepAlive stream carrying a request per id; its answers, in order."""
        requests = [pb.LeaseKeepAliveRequest(ID=i) for i in ids]
        try:
            return list(self._lease.LeaseKeepAlive(iter(requests), timeout=CALL_TIMEOUT_SECONDS))
        except grpc.RpcError as exc:
            return RpcFailure(exc.code().name, exc.details() or "")

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> LeaseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
