"""The auth state a member serves from: whether auth is on, the auth revision, and each
user's merged permissions, rebuilt from the backend after every change - plus the
permission checks etcd makes with them (``IsRangePermitted``, ``IsPutPermitted``,
``IsAdminPermitted``, ...).

Every check raises etcd's error or returns None; with auth disabled every check passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kvcore import errors
from kvcore.api.authpb.auth_pb2 import Permission
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.auth import records
from kvcore.auth.info import AuthInfo
from kvcore.auth.permissions import UserPermissions
from kvcore.backend import Backend, ReadTxn

ROOT_USER = "root"
ROOT_ROLE = "root"


class Tokens(Protocol):
    """A token provider: simple tokens (kvcore.auth.tokens) or JWT (jwt_tokens)."""

    def assign(self, prefix: str, index: int, username: str, revision: int) -> str:
        """A new token for ``username``, logged in at auth ``revision`` by the entry at
        raft ``index``; ``prefix`` is the random part the proposer drew."""

    def info(self, token: str, revision: int) -> AuthInfo | None:
        """Who ``token`` names (``revision``: the current one), or None if not valid."""

    def invalidate_user(self, username: str) -> None: ...

    def clear(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _UserView:
    roles: frozenset[str]
    permissions: UserPermissions


class AuthStore:
    def __init__(self, backend: Backend, tokens: Tokens) -> None:
        self._backend = backend
        self.tokens = tokens
        self.enabled = False
        self.revision = records.INITIAL_REVISION
        self._users: dict[str, _UserView] = {}
        self.reload()

    def reload(self) -> None:
        """Read the state again from the committed backend (at start, after a restore)."""
        with self._backend.read() as txn:
            self.refresh(txn)

    def refresh(self, txn: ReadTxn) -> None:
        """Rebuild the view from ``txn`` (an apply's write transaction sees its writes)."""
        self.enabled = records.is_enabled(txn)
        self.revision = records.revision(txn)
        roles = {role.name.decode(): role for role in records.all_roles(txn)}
        self._users = {
            user.name.decode(): _UserView(
                frozenset(user.roles),
                UserPermissions.merge(roles[r] for r in user.roles if r in roles),
            )
            for user in records.all_users(txn)
        }
        if not self.enabled:
            self.tokens.clear()

    # --- who is calling --------------------------------------------------------------

    def info_from_token(self, token: str) -> AuthInfo:
        """The caller a token names, at the auth revision it carries (a JWT's) or else
        the current one."""
        info = self.tokens.info(token, self.revision)
        if info is None:
            raise errors.INVALID_AUTH_TOKEN
        return info

    def password_hash(self, username: str) -> tuple[bytes, int]:
        """The stored hash of ``username``'s password and the auth revision it was read
        at (Authenticate's first step, etcd's CheckPassword before the hash compare)."""
        if not self.enabled:
            raise errors.AUTH_NOT_ENABLED
        with self._backend.read() as txn:
            user = records.get_user(txn, username)
        if user is None:
            raise errors.AUTH_FAILED
        if user.options.no_password:
            raise errors.NO_PASSWORD_USER
        return user.password, self.revision

    def has_role(self, username: str, role: str) -> bool:
        user = self._users.get(username)
        return user is not None and role in user.roles

    # --- permission checks ---------------------------------------------------------

    def check_admin(self, info: AuthInfo | None) -> None:
        """Only a user holding the root role may do this."""
        if not self.enabled:
            return
        if info is None or not info.username:
            raise errors.USER_EMPTY
        user = self._users.get(info.username)
        if user is None:
            raise errors.USER_NOT_FOUND
        if ROOT_ROLE not in user.roles:
            raise errors.PERMISSION_DENIED

    def check_range(self, info: AuthInfo | None, key: bytes, range_end: bytes = b"") -> None:
        """READ on ``[key, range_end)`` (a single key when ``range_end`` is empty)."""
        self._check(info, key, range_end, Permission.READ)

    def check_write(self, info: AuthInfo | None, key: bytes, range_end: bytes = b"") -> None:
        """WRITE on ``[key, range_end)`` (a single key when ``range_end`` is empty)."""
        self._check(info, key, range_end, Permission.WRITE)

    def check_put(self, info: AuthInfo | None, request: pb.PutRequest) -> None:
        self.check_write(info, request.key)
        if request.prev_kv:
            self.check_range(info, request.key)

    def check_delete_range(self, info: AuthInfo | None, request: pb.DeleteRangeRequest) -> None:
        self.check_write(info, request.key, request.range_end)
        if request.prev_kv:
            self.check_range(info, request.key, request.range_end)

    def check_txn(self, info: AuthInfo | None, request: pb.TxnRequest) -> None:
        """Every compare needs READ; every operation in either branch its own permission.
        A put inside a txn is checked for WRITE only, as etcd does."""
        for compare in request.compare:
            self.check_range(info, compare.key, compare.range_end)
        for op in (*request.success, *request.failure):
            kind = op.WhichOneof("request")
            if kind == "request_range":
                self.check_range(info, op.request_range.key, op.request_range.range_end)
            elif kind == "request_put":
                self.check_write(info, op.request_put.key)
            elif kind == "request_delete_range":
                self.check_delete_range(info, op.request_delete_range)
            elif kind == "request_txn":
                self.check_txn(info, op.request_txn)

    def _check(self, info: AuthInfo | None, key: bytes, range_end: bytes, perm: int) -> None:
        if not self.enabled:
            return
        if info is None or info.revision == 0:
            raise errors.USER_EMPTY
        if info.revision < self.revision:
            raise errors.AUTH_OLD_REVISION
        user = self._users.get(info.username)
        if user is None:
            raise errors.PERMISSION_DENIED
        if ROOT_ROLE in user.roles or user.permissions.allows(key, range_end, perm):
            return
        raise errors.PERMISSION_DENIED
