"""etcd's Auth, KV and Maintenance services over gRPC with a token, errors as values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from support.rawclient import Outcome, RpcFailure

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc

CALL_TIMEOUT_SECONDS = 10.0


class AuthClient:
    def __init__(self, endpoint: str) -> None:
        self._channel = grpc.insecure_channel(endpoint)
        self._stubs = {
            "Auth": rpc_pb2_grpc.AuthStub(self._channel),
            "KV": rpc_pb2_grpc.KVStub(self._channel),
            "Lease": rpc_pb2_grpc.LeaseStub(self._channel),
            "Maintenance": rpc_pb2_grpc.MaintenanceStub(self._channel),
        }

    def call(
        self, method: str, request: Message, token: str | None = None, key: str = "token"
    ) -> Outcome:
        """``method`` is "Service.Rpc", e.g. "KV.Range"; ``token`` goes as metadata
        ``key``."""
        service, rpc = method.split(".")
        fn: Any = getattr(self._stubs[service], rpc)
        metadata = [(key, token)] if token is not None else None
        try:
            return fn(request, timeout=CALL_TIMEOUT_SECONDS, metadata=metadata)
        except grpc.RpcError as exc:
            return RpcFailure(exc.code().name, exc.details() or "")

    def token(self, name: str, password: str) -> str:
        outcome = self.call(
            "Auth.Authenticate", pb.AuthenticateRequest(name=name, password=password)
        )
        assert not isinstance(outcome, RpcFailure), f"authenticate {name}: {outcome}"
        return outcome.token

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> AuthClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def failure(outcome: Outcome) -> str:
    """An outcome as "CODE: details", or "ok"."""
    return f"{outcome.code}: {outcome.details}" if isinstance(outcome, RpcFailure) else "ok"


def grpc_outcome(call: Callable[[], object]) -> str:
    """What a raw stub ``call`` came to, as :func:`failure` writes it."""
    try:
        call()
    except grpc.RpcError as exc:
        return failure(RpcFailure(exc.code().name, exc.details() or ""))
    return "ok"
