"""The auth guard in process: reads served locally are refused when the auth state
changes while they are served (etcd's "revision of auth store is old"), proposals
carry their caller, tokens wait for the entry that made them."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import InternalAuthenticateRequest, RequestHeader
from kvcore.auth import caller
from kvcore.auth.store import AuthStore
from kvcore.auth.tokens import SimpleTokens
from kvcore.server.services.auth_guard import AuthGuard
from kvcore.transport import StaticCallContext

from .test_applier import Auth


class FakeServer:
    """What the guard uses of EtcdServer: the auth store, the request timeout, the applied index."""

    def __init__(self, auth: AuthStore) -> None:
        self.auth = auth
        self.cfg = SimpleNamespace(request_timeout=0.5)
        self.applied = asyncio.Event()

    async def wait_applied(self, index: int) -> None:
        await self.applied.wait()


class KV:
    """A KV service whose range lets the test act while it is being served."""

    def __init__(self) -> None:
        self.during: Any = None
        self.headers: list[RequestHeader] = []

    async def range(self, request: pb.RangeRequest, ctx: Any) -> pb.RangeResponse:
        if self.during is not None:
            self.during()
        return pb.RangeResponse()

    async def put(self, request: pb.PutRequest, ctx: Any) -> pb.PutResponse:
        header = RequestHeader()
        caller.stamp(header)
        self.headers.append(header)
        return pb.PutResponse()


@pytest.fixture
def auth() -> Auth:
    auth = Auth()
    auth.enable()
    return auth


def _token(auth: Auth) -> str:
    return auth.apply(
        "authenticate", InternalAuthenticateRequest(name="root", simple_token="t")
    ).token


def test_an_auth_change_during_a_local_read_fails_it(auth: Auth) -> None:
    server = FakeServer(auth.store)
    server.applied.set()
    kv = KV()
    guard = AuthGuard(server, "etcdserverpb.KV", kv)  # type: ignore[arg-type]
    ctx = StaticCallContext(metadata={"token": _token(auth)})
    asyncio.run(guard.range(pb.RangeRequest(key=b"k"), ctx))
    kv.during = lambda: auth.as_root("auth_role_add", pb.AuthRoleAddRequest(name="new"))
    with pytest.raises(errors.EtcdError) as caught:
        asyncio.run(guard.range(pb.RangeRequest(key=b"k"), ctx))
    assert caught.value == errors.AUTH_OLD_REVISION


def test_proposals_carry_the_caller_and_only_during_the_call(auth: Auth) -> None:
    server = FakeServer(auth.store)
    server.applied.set()
    kv = KV()
    guard = AuthGuard(server, "etcdserverpb.KV", kv)  # type: ignore[arg-type]
    asyncio.run(
        guard.put(pb.PutRequest(key=b"k"), StaticCallContext(metadata={"token": _token(auth)}))
    )
    asyncio.run(guard.put(pb.PutRequest(key=b"k"), StaticCallContext()))
    assert [(h.username, h.auth_revision) for h in kv.headers] == [
        ("root", auth.store.revision),
        ("", 0),
    ]
    assert caller.current() is None


def test_a_token_is_looked_up_once_its_entry_is_applied(auth: Auth) -> None:
    server = FakeServer(auth.store)  # never applied past the token's index
    guard = AuthGuard(server, "etcdserverpb.KV", KV())  # type: ignore[arg-type]
    ctx = StaticCallContext(metadata={"token": _token(auth)})
    with pytest.raises(errors.EtcdError) as caught:
        asyncio.run(guard.range(pb.RangeRequest(key=b"k"), ctx))
    assert caught.value == errors.INVALID_AUTH_TOKEN


def test_common_name_is_the_user_without_a_token(auth: Auth) -> None:
    server = FakeServer(auth.store)
    guard = AuthGuard(server, "etcdserverpb.Maintenance", SimpleNamespace(hash=_hash))  # type: ignore[arg-type]
    cn = SimpleNamespace(metadata={}, peer="", common_name="root")
    assert asyncio.run(guard.hash(pb.HashRequest(), cn)) == pb.HashResponse(hash=1)
    anonymous = SimpleNamespace(metadata={}, peer="")
    with pytest.raises(errors.EtcdError) as caught:
        asyncio.run(guard.hash(pb.HashRequest(), anonymous))
    assert caught.value.message == "auth: user name is empty"


async def _hash(request: pb.HashRequest, ctx: Any) -> pb.HashResponse:
    return pb.HashResponse(hash=1)


def test_store_is_rebuilt_from_the_backend(auth: Auth) -> None:
    again = AuthStore(auth.backend, SimpleTokens(ttl=300))
    assert (again.enabled, again.revision) == (True, auth.store.revision)
