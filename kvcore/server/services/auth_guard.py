"""The auth layer around every service: who is calling (the ``token`` metadata), and
the checks etcd makes before serving a call.

* Requests that go through raft carry the caller in their header and are checked when
  applied (``kvcore.auth.applier``); here the token is only resolved.
* Reads served locally (Range, read-only Txn) are checked here, before and after the
  read, as etcd's doSerialize does: an auth change while reading fails the read.
* Some calls need root here (etcd checks them in its API layer): defragment, hash,
  hash_kv, snapshot, member add, remove, update and promote. etcd's Maintenance service
  returns these errors unconverted: clients see "auth: ..." with code Unknown.
* Calls etcd serves without looking at a token are passed through untouched.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

from kvcore import errors
from kvcore.auth.caller import CALLER
from kvcore.auth.store import AuthInfo
from kvcore.auth.tokens import token_index
from kvcore.server import kv_apply
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.membership import parse_peer_urls
from kvcore.transport import CallContext

# etcd reads the token from the "token" metadata, else from "authorization" (the name
# its gateway's clients send it under).
TOKEN_KEYS = ("token", "authorization")


def token_of(ctx: CallContext) -> str | None:
    metadata = ctx.metadata
    for key in TOKEN_KEYS:
        token = metadata.get(key)
        if token is not None:
            return token
    return None


# (service, handler) pairs that need the root role at the API layer.
_ADMIN_CALLS = frozenset(
    {
        ("etcdserverpb.Maintenance", "defragment"),
        ("etcdserverpb.Maintenance", "hash"),
        ("etcdserverpb.Maintenance", "hash_kv"),
        ("etcdserverpb.Maintenance", "snapshot"),
        ("etcdserverpb.Cluster", "member_add"),
        ("etcdserverpb.Cluster", "member_remove"),
        ("etcdserverpb.Cluster", "member_update"),
        ("etcdserverpb.Cluster", "member_promote"),
    }
)
# Checks etcd makes on a request before it looks at the token.
_CHECKED_FIRST: dict[tuple[str, str], Callable[[Any], object]] = {
    ("etcdserverpb.Cluster", "member_add"): lambda request: parse_peer_urls(request.peerURLs),
}
# etcd's auth store errors as its Maintenance service lets them through, unconverted.
_UNCONVERTED = {
    err: errors.EtcdError(errors.Code.UNKNOWN, message)
    for err, message in (
        (errors.USER_EMPTY, "auth: user name is empty"),
        (errors.USER_NOT_FOUND, "auth: user not found"),
        (errors.PERMISSION_DENIED, "auth: permission denied"),
        (errors.INVALID_AUTH_TOKEN, "auth: invalid auth token"),
    )
}


# etcd's Election server reads through an embedded client and passes its errors on
# with code Unknown.
def _as_unknown(exc: errors.EtcdError) -> errors.EtcdError:
    return errors.EtcdError(errors.Code.UNKNOWN, exc.message)


_TRANSLATIONS: dict[str, Callable[[errors.EtcdError], errors.EtcdError]] = {
    "etcdserverpb.Maintenance": lambda exc: _UNCONVERTED.get(exc, exc),
    "v3electionpb.Election": _as_unknown,
}
# Calls that never look at a token in etcd (Authenticate makes one).
_UNCHECKED_CALLS = frozenset(
    {
        ("etcdserverpb.Auth", "authenticate"),
        ("etcdserverpb.Maintenance", "status"),
        ("etcdserverpb.Maintenance", "move_leader"),
        ("etcdserverpb.Cluster", "member_list"),
        ("etcdserverpb.Lease", "lease_keep_alive"),
        ("etcdserverpb.Lease", "lease_leases"),
        # Checked at each watch creation instead (see watch_refusal).
        ("etcdserverpb.Watch", "watch"),
    }
)


async def caller_of(server: EtcdServer, ctx: CallContext) -> AuthInfo | None:
    """The caller a call's token names, else the common name of its verified client
    certificate (etcd's client-cert auth), else None. A token is valid on a member once
    it has applied the entry that made it: wait for that first."""
    token = token_of(ctx)
    index = token_index(token) if token is not None else None
    if index is not None:
        try:
            async with asyncio.timeout(server.cfg.request_timeout):
                await server.wait_applied(index)
        except TimeoutError:
            raise errors.INVALID_AUTH_TOKEN from None
    return caller_now(server, ctx)


def caller_now(server: EtcdServer, ctx: CallContext) -> AuthInfo | None:
    """:func:`caller_of` without waiting: for checks made later in a call that
    :func:`caller_of` admitted (a token it accepted is applied here by then)."""
    token = token_of(ctx)
    if token is None:
        common_name = getattr(ctx, "common_name", "")  # optional (see CallContext)
        return AuthInfo(common_name, server.auth.revision) if common_name else None
    return server.auth.info_from_token(token)


def check_read(server: EtcdServer, ctx: CallContext, key: bytes, range_end: bytes) -> None:
    """Raise etcd's error unless the caller may read ``[key, range_end)`` now (a single
    key when ``range_end`` is empty, every key from ``key`` on when it is ``b"\\0"``):
    the check for reads a streaming call starts as it goes, such as a watch."""
    server.auth.check_range(caller_now(server, ctx), key, range_end)


# What a refused watch's cancel reason names; any other refusal is "permission denied".
_WATCH_REFUSALS = (errors.INVALID_AUTH_TOKEN, errors.AUTH_OLD_REVISION, errors.USER_EMPTY)


def watch_refusal(server: EtcdServer, ctx: CallContext, key: bytes, range_end: bytes) -> str | None:
    """Why the caller may not watch ``[key, range_end)``, as the cancel reason etcd
    gives (a gRPC status in Go's words), or None when they may."""
    try:
        check_read(server, ctx, key, range_end)
    except errors.EtcdError as exc:
        err = exc if exc in _WATCH_REFUSALS else errors.PERMISSION_DENIED
        code = "".join(word.capitalize() for word in err.code.name.split("_"))
        return f"rpc error: code = {code} desc = {err.message}"
    return None


class AuthGuard:
    """Wraps one service's handler object (see kvcore.transport)."""

    def __init__(self, server: EtcdServer, service: str, impl: object) -> None:
        self._server = server
        self._service = service
        self._impl = impl
        self._translate = _TRANSLATIONS.get(service)

    def __getattr__(self, name: str) -> Any:
        handler = getattr(self._impl, name)
        call = (self._service, name)
        if call in _UNCHECKED_CALLS:
            guarded = handler
        elif inspect.iscoroutinefunction(handler):
            guarded = self._unary(
                handler, call in _ADMIN_CALLS, _local_read(call), _CHECKED_FIRST.get(call)
            )
        else:
            guarded = self._streaming(handler, call in _ADMIN_CALLS, _local_read(call))
        setattr(self, name, guarded)  # built once: later lookups find the attribute
        return guarded

    async def _admit(
        self, ctx: CallContext, admin: bool, local_read: Callable | None, request: Any
    ) -> tuple[AuthInfo | None, bool]:
        """The caller, once allowed the call (root for an admin call, the read for a
        local one), and whether the call is such a read."""
        try:
            info = await caller_of(self._server, ctx)
            if admin:
                self._server.auth.check_admin(info)
            reads = local_read is not None and local_read(self._server, info, request)
        except errors.EtcdError as exc:
            raise (self._translate(exc) if self._translate else exc) from None
        return info, reads

    def _unary(
        self,
        handler: Callable,
        admin: bool,
        local_read: Callable | None,
        check_first: Callable[[Any], object] | None,
    ) -> Any:
        auth = self._server.auth

        async def guarded(request: Any, ctx: CallContext) -> Any:
            if not auth.enabled and token_of(ctx) is None:
                return await handler(request, ctx)  # nothing to check: the common case
            if check_first is not None:
                check_first(request)
            info, reads = await self._admit(ctx, admin, local_read, request)
            token = CALLER.set(info)
            try:
                response = await handler(request, ctx)
            finally:
                CALLER.reset(token)
            if reads and info is not None and info.revision != auth.revision:
                raise errors.AUTH_OLD_REVISION
            return response

        return guarded

    def _streaming(self, handler: Callable, admin: bool, local_read: Callable | None) -> Any:
        async def guarded(request: Any, ctx: CallContext) -> AsyncIterator[Any]:
            info, _ = await self._admit(ctx, admin, local_read, request)
            token = CALLER.set(info)
            try:
                async for response in handler(request, ctx):
                    yield response
            finally:
                CALLER.reset(token)

        return guarded


def _check_range(server: EtcdServer, info: AuthInfo | None, request: Any) -> bool:
    server.auth.check_range(info, request.key, request.range_end)
    return True


def _check_read_only_txn(server: EtcdServer, info: AuthInfo | None, request: Any) -> bool:
    if not kv_apply.is_read_only(request):
        return False  # proposed: checked when applied
    server.auth.check_txn(info, request)
    return True


def _check_lease_keys(server: EtcdServer, info: AuthInfo | None, request: Any) -> bool:
    """A lease's keys are shown only to who may read each (etcd's checkLeaseTimeToLive)."""
    if not request.keys:
        return False
    lease = server.lessor.lookup(request.ID)
    for key in lease.keys if lease is not None else ():
        server.auth.check_range(info, key)
    return True


def _check_election(server: EtcdServer, info: AuthInfo | None, request: Any) -> bool:
    """An election is read from the keys under ``name/``."""
    prefix = request.name + b"/"
    server.auth.check_range(info, prefix, prefix[:-1] + b"0")  # "0" follows "/"
    return True


def _local_read(call: tuple[str, str]) -> Callable | None:
    """The check for a call that reads what this member holds, if ``call`` is one; it
    returns whether the request is such a read."""
    return {
        ("etcdserverpb.KV", "range"): _check_range,
        ("etcdserverpb.KV", "txn"): _check_read_only_txn,
        ("etcdserverpb.Lease", "lease_time_to_live"): _check_lease_keys,
        ("v3electionpb.Election", "leader"): _check_election,
        ("v3electionpb.Election", "observe"): _check_election,
    }.get(call)
