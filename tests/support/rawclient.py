"""etcd's v3 gRPC API through kvcore's generated stubs, with errors returned as values.

Differential tests compare what two servers answer, errors included, so a call gives
back either the response message or an :class:`RpcFailure` instead of raising.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message

from kvcore.api.etcdserverpb import rpc_pb2, rpc_pb2_grpc

CALL_TIMEOUT_SECONDS = 10.0
# Generous limits so that the server, not this client, decides what is too large.
_CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


# How a server with auth enabled refuses a read without a user.
_AUTH_REFUSALS = ("etcdserver: user name is empty", "etcdserver: permission denied")


@dataclass(frozen=True)
class RpcFailure:
    """A failed call as a client sees it: the gRPC status code and the details string."""

    code: str
    details: str

    def __str__(self) -> str:
        return f"error {self.code}: {self.details}"


Outcome = Message | RpcFailure


class RawClient:
    """One channel to one endpoint ("host:port"); close it, or use it as a context manager."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._channel = grpc.insecure_channel(endpoint, options=_CHANNEL_OPTIONS)
        kv = rpc_pb2_grpc.KVStub(self._channel)
        cluster = rpc_pb2_grpc.ClusterStub(self._channel)
        maintenance = rpc_pb2_grpc.MaintenanceStub(self._channel)
        lease = rpc_pb2_grpc.LeaseStub(self._channel)
        self._methods = {
            "Range": kv.Range,
            "Put": kv.Put,
            "DeleteRange": kv.DeleteRange,
            "Txn": kv.Txn,
            "Compact": kv.Compact,
            "MemberList": cluster.MemberList,
            "Status": maintenance.Status,
            "HashKV": maintenance.HashKV,
            "MoveLeader": maintenance.MoveLeader,
            "LeaseGrant": lease.LeaseGrant,
            "LeaseRevoke": lease.LeaseRevoke,
            "LeaseTimeToLive": lease.LeaseTimeToLive,
            "LeaseLeases": lease.LeaseLeases,
        }

    def call(
        self,
        method: str,
        request: Message,
        timeout: float = CALL_TIMEOUT_SECONDS,
        metadata: Sequence[tuple[str, str]] | None = None,
    ) -> Outcome:
        try:
            return self._methods[method](request, timeout=timeout, metadata=metadata)
        except grpc.RpcError as exc:
            return RpcFailure(exc.code().name, exc.details() or "")

    def ok(self, method: str, request: Message) -> Message:
        """Call and insist on success (for setup steps)."""
        outcome = self.call(method, request)
        assert not isinstance(outcome, RpcFailure), f"{method} failed: {outcome}"
        return outcome

    def serves(self) -> bool:
        """True once a read of one key is answered: what `etcdctl endpoint health` checks.
        A refusal by auth is an answer too (auth enabled, no user given)."""
        outcome = self.call("Range", rpc_pb2.RangeRequest(key=b"health"), timeout=1.0)
        return not isinstance(outcome, RpcFailure) or outcome.details in _AUTH_REFUSALS

    def revision(self) -> int:
        return self.ok("Range", rpc_pb2.RangeRequest(key=b"\0", count_only=True)).header.revision

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
