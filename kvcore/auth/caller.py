"""The caller of the request being served, for the requests it proposes to raft.

The auth guard around the services sets it for the duration of a call; ``propose``
copies it into the proposal's header (user name and auth revision), which is what the
apply-time checks read on every member.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from kvcore.api.etcdserverpb.raft_internal_pb2 import RequestHeader
from kvcore.auth.store import ROOT_USER, AuthInfo, AuthStore

CALLER: ContextVar[AuthInfo | None] = ContextVar("kvcore_auth_caller", default=None)


def current() -> AuthInfo | None:
    return CALLER.get()


def stamp(header: RequestHeader) -> None:
    """Name the current caller, if any, in a proposal's header."""
    info = CALLER.get()
    if info is not None:
        header.username = info.username
        header.auth_revision = info.revision


@contextmanager
def as_root(auth: AuthStore) -> Iterator[None]:
    """Propose as root, at the current auth revision, what the cluster does on its own
    (etcd's WithRoot: revoking expired leases, whoever attached keys to them)."""
    token = CALLER.set(AuthInfo(ROOT_USER, auth.revision) if auth.enabled else None)
    try:
        yield
    finally:
        CALLER.reset(token)
