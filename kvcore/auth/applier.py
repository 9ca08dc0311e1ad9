"""Applying committed auth requests (etcd's authStore mutations and authApplierV3).

Two jobs, both on every member in log order, so all members agree:

* :meth:`AuthApplier.authorize` re-checks a request against the auth state at apply
  time, as the caller named in its header (user name and the auth revision the token
  was checked at): a permission revoked, or any auth change, between the check at the
  API and the apply is seen here.
* :meth:`AuthApplier.apply` changes users, roles and the enabled flag in the apply's
  write transaction, bumping the auth revision the way etcd does.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from kvcore import errors
from kvcore.api.authpb.auth_pb2 import Permission, Role, User
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import RequestHeader
from kvcore.auth import records
from kvcore.auth.permissions import is_valid_permission_range
from kvcore.auth.store import ROOT_ROLE, ROOT_USER, AuthInfo, AuthStore
from kvcore.backend import WriteTxn

# Requests only root may make (etcd's needAdminPermission).
ADMIN_REQUESTS = frozenset(
    {
        "auth_enable",
        "auth_disable",
        "auth_status",
        "auth_user_add",
        "auth_user_delete",
        "auth_user_change_password",
        "auth_user_grant_role",
        "auth_user_revoke_role",
        "auth_user_list",
        "auth_role_add",
        "auth_role_grant_permission",
        "auth_role_revoke_permission",
        "auth_role_delete",
        "auth_role_list",
    }
)
AUTH_REQUESTS = ADMIN_REQUESTS | {"auth_user_get", "auth_role_get", "authenticate"}


def caller(header: RequestHeader) -> AuthInfo:
    return AuthInfo(header.username, header.auth_revision)


class _Lease(Protocol):
    keys: Iterable[bytes]


class Leases(Protocol):
    """The keys attached to each lease (kvcore.lease.Lessor)."""

    def lookup(self, lease_id: int) -> _Lease | None: ...


class AuthApplier:
    def __init__(self, store: AuthStore, leases: Leases) -> None:
        self.store = store
        self._leases = leases
        self._handlers: dict[str, Callable[[WriteTxn, Any], Any]] = {
            "auth_enable": self._enable,
            "auth_disable": self._disable,
            "auth_status": self._status,
            "auth_user_add": self._user_add,
            "auth_user_delete": self._user_delete,
            "auth_user_change_password": self._user_change_password,
            "auth_user_grant_role": self._user_grant_role,
            "auth_user_revoke_role": self._user_revoke_role,
            "auth_user_get": self._user_get,
            "auth_user_list": self._user_list,
            "auth_role_add": self._role_add,
            "auth_role_delete": self._role_delete,
            "auth_role_get": self._role_get,
            "auth_role_list": self._role_list,
            "auth_role_grant_permission": self._role_grant_permission,
            "auth_role_revoke_permission": self._role_revoke_permission,
        }

    def authorize(self, header: RequestHeader, name: str, body: Any) -> None:
        """Raise etcd's error if the caller in ``header`` may not make this request."""
        store = self.store
        if not store.enabled:
            return
        info = caller(header)
        if name in ADMIN_REQUESTS:
            store.check_admin(info)
        elif name == "auth_user_get":
            if body.name != info.username:
                store.check_admin(info)
        elif name == "auth_role_get":
            if not store.has_role(info.username, body.role):
                store.check_admin(info)
        elif name == "put":
            store.check_put(info, body)
            self._check_lease_keys(info, body.lease)
        elif name == "lease_revoke":
            self._check_lease_keys(info, body.ID)
        elif name == "delete_range":
            store.check_delete_range(info, body)
        elif name == "txn":
            store.check_txn(info, body)

    def _check_lease_keys(self, info: AuthInfo, lease_id: int) -> None:
        """Revoking a lease deletes its keys, and a put may attach a key to a lease that
        is later revoked: both need WRITE on every key the lease holds (etcd's
        checkLeasePuts)."""
        lease = self._leases.lookup(lease_id) if lease_id else None
        for key in lease.keys if lease is not None else ():
            self.store.check_write(info, key)

    def apply(self, btx: WriteTxn, name: str, body: Any, index: int) -> Any:
        """Apply the auth request ``name`` (one of AUTH_REQUESTS) at raft ``index``."""
        if name == "authenticate":
            return self._authenticate(btx, body, index)
        return self._handlers[name](btx, body)

    def _changed(self, btx: WriteTxn) -> None:
        records.bump_revision(btx)
        self.store.refresh(btx)

    # --- auth on and off, and tokens ---------------------------------------------------

    def _enable(self, btx: WriteTxn, body: pb.AuthEnableRequest) -> pb.AuthEnableResponse:
        if not records.is_enabled(btx):
            root = records.get_user(btx, ROOT_USER)
            if root is None:
                raise errors.ROOT_USER_NOT_EXIST
            if ROOT_ROLE not in root.roles:
                raise errors.ROOT_ROLE_NOT_EXIST
            records.set_enabled(btx, True)
            self.store.refresh(btx)  # enabling keeps the revision, as in etcd
        return pb.AuthEnableResponse()

    def _disable(self, btx: WriteTxn, body: pb.AuthDisableRequest) -> pb.AuthDisableResponse:
        if records.is_enabled(btx):
            records.set_enabled(btx, False)
            self._changed(btx)
        return pb.AuthDisableResponse()

    def _status(self, btx: WriteTxn, body: pb.AuthStatusRequest) -> pb.AuthStatusResponse:
        return pb.AuthStatusResponse(
            enabled=records.is_enabled(btx), authRevision=records.revision(btx)
        )

    def _authenticate(self, btx: WriteTxn, body: Any, index: int) -> pb.AuthenticateResponse:
        if not records.is_enabled(btx):
            raise errors.AUTH_NOT_ENABLED
        user = records.get_user(btx, body.name)
        if user is None or user.options.no_password:
            raise errors.AUTH_FAILED
        # The password was checked before proposing: the log never holds it.
        token = self.store.tokens.assign(body.simple_token, index, body.name, self.store.revision)
        return pb.AuthenticateResponse(token=token)

    # --- users ---------------------------------------------------------------------

    def _user(self, btx: WriteTxn, name: str) -> User:
        user = records.get_user(btx, name)
        if user is None:
            raise errors.USER_NOT_FOUND
        return user

    def _user_add(self, btx: WriteTxn, body: pb.AuthUserAddRequest) -> pb.AuthUserAddResponse:
        if not body.name:
            raise errors.USER_EMPTY
        if records.get_user(btx, body.name) is not None:
            raise errors.USER_ALREADY_EXIST
        user = User(name=body.name.encode(), options=body.options)
        if not body.options.no_password:
            user.password = body.hashedPassword.encode()
        records.put_user(btx, user)
        self._changed(btx)
        return pb.AuthUserAddResponse()

    def _user_delete(
        self, btx: WriteTxn, body: pb.AuthUserDeleteRequest
    ) -> pb.AuthUserDeleteResponse:
        if self.store.enabled and body.name == ROOT_USER:
            raise errors.INVALID_AUTH_MGMT
        self._user(btx, body.name)
        records.delete_user(btx, body.name)
        self._changed(btx)
        self.store.tokens.invalidate_user(body.name)
        return pb.AuthUserDeleteResponse()

    def _user_change_password(
        self, btx: WriteTxn, body: pb.AuthUserChangePasswordRequest
    ) -> pb.AuthUserChangePasswordResponse:
        user = self._user(btx, body.name)
        user.password = b"" if user.options.no_password else body.hashedPassword.encode()
        records.put_user(btx, user)
        self._changed(btx)
        self.store.tokens.invalidate_user(body.name)
        return pb.AuthUserChangePasswordResponse()

    def _user_grant_role(
        self, btx: WriteTxn, body: pb.AuthUserGrantRoleRequest
    ) -> pb.AuthUserGrantRoleResponse:
        user = self._user(btx, body.user)
        # The root role may be granted before it is created.
        if body.role != ROOT_ROLE and records.get_role(btx, body.role) is None:
            raise errors.ROLE_NOT_FOUND
        if body.role not in user.roles:
            roles = sorted([*user.roles, body.role])
            del user.roles[:]
            user.roles.extend(roles)
            records.put_user(btx, user)
            self._changed(btx)
        return pb.AuthUserGrantRoleResponse()

    def _user_revoke_role(
        self, btx: WriteTxn, body: pb.AuthUserRevokeRoleRequest
    ) -> pb.AuthUserRevokeRoleResponse:
        if self.store.enabled and body.name == ROOT_USER and body.role == ROOT_ROLE:
            raise errors.INVALID_AUTH_MGMT
        user = self._user(btx, body.name)
        if body.role not in user.roles:
            raise errors.ROLE_NOT_GRANTED
        user.roles.remove(body.role)
        records.put_user(btx, user)
        self._changed(btx)
        return pb.AuthUserRevokeRoleResponse()

    def _user_get(self, btx: WriteTxn, body: pb.AuthUserGetRequest) -> pb.AuthUserGetResponse:
        return pb.AuthUserGetResponse(roles=self._user(btx, body.name).roles)

    def _user_list(self, btx: WriteTxn, body: pb.AuthUserListRequest) -> pb.AuthUserListResponse:
        return pb.AuthUserListResponse(users=[u.name.decode() for u in records.all_users(btx)])

    # --- roles ---------------------------------------------------------------------

    def _role(self, btx: WriteTxn, name: str) -> Role:
        role = records.get_role(btx, name)
        if role is None:
            raise errors.ROLE_NOT_FOUND
        return role

    def _role_add(self, btx: WriteTxn, body: pb.AuthRoleAddRequest) -> pb.AuthRoleAddResponse:
        if not body.name:
            raise errors.ROLE_EMPTY
        if records.get_role(btx, body.name) is not None:
            raise errors.ROLE_ALREADY_EXIST
        records.put_role(btx, Role(name=body.name.encode()))
        self._changed(btx)
        return pb.AuthRoleAddResponse()

    def _role_delete(
        self, btx: WriteTxn, body: pb.AuthRoleDeleteRequest
    ) -> pb.AuthRoleDeleteResponse:
        if self.store.enabled and body.role == ROOT_ROLE:
            raise errors.INVALID_AUTH_MGMT
        self._role(btx, body.role)
        records.delete_role(btx, body.role)
        for user in records.all_users(btx):
            if body.role in user.roles:
                user.roles.remove(body.role)
                records.put_user(btx, user)
        self._changed(btx)
        return pb.AuthRoleDeleteResponse()

    def _role_get(self, btx: WriteTxn, body: pb.AuthRoleGetRequest) -> pb.AuthRoleGetResponse:
        return pb.AuthRoleGetResponse(perm=self._role(btx, body.role).keyPermission)

    def _role_list(self, btx: WriteTxn, body: pb.AuthRoleListRequest) -> pb.AuthRoleListResponse:
        return pb.AuthRoleListResponse(roles=[r.name.decode() for r in records.all_roles(btx)])

    def _role_grant_permission(
        self, btx: WriteTxn, body: pb.AuthRoleGrantPermissionRequest
    ) -> pb.AuthRoleGrantPermissionResponse:
        if not body.HasField("perm"):
            raise errors.PERMISSION_NOT_GIVEN
        perm = body.perm
        if not is_valid_permission_range(perm.key, perm.range_end):
            raise errors.INVALID_AUTH_MGMT
        role = self._role(btx, body.name)
        perms = [_copy(p) for p in role.keyPermission]
        same = [p for p in perms if p.key == perm.key and p.range_end == perm.range_end]
        if same:
            same[0].permType = perm.permType  # a new type for the same range replaces it
        else:
            # Kept sorted by key; a new one goes after those with an equal key.
            at = bisect.bisect_right([p.key for p in perms], perm.key)
            perms.insert(at, _copy(perm))
        role = Role(name=role.name, keyPermission=perms)
        records.put_role(btx, role)
        self._changed(btx)
        return pb.AuthRoleGrantPermissionResponse()

    def _role_revoke_permission(
        self, btx: WriteTxn, body: pb.AuthRoleRevokePermissionRequest
    ) -> pb.AuthRoleRevokePermissionResponse:
        role = self._role(btx, body.role)
        kept = [
            _copy(p)
            for p in role.keyPermission
            if not (p.key == body.key and p.range_end == body.range_end)
        ]
        if len(kept) == len(role.keyPermission):
            raise errors.PERMISSION_NOT_GRANTED
        role = Role(name=role.name, keyPermission=kept)
        records.put_role(btx, role)
        self._changed(btx)
        return pb.AuthRoleRevokePermissionResponse()


def _copy(perm: Permission) -> Permission:
    return Permission(permType=perm.permType, key=perm.key, range_end=perm.range_end)
