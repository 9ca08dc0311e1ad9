"""The auth applier on a memory backend: state changes, revision bumps, and the
apply-time checks of the caller named in a request's header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kvcore_memory import MemoryEngine, MemoryOptions

from kvcore import errors, schema
from kvcore.api.authpb.auth_pb2 import Permission
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import InternalAuthenticateRequest, RequestHeader
from kvcore.auth.applier import AUTH_REQUESTS, AuthApplier
from kvcore.auth.store import AuthInfo, AuthStore
from kvcore.auth.tokens import SimpleTokens
from kvcore.lease.lessor import Lessor


class Auth:
    """Applies requests as raft would: authorize, then apply, one transaction each."""

    def __init__(self) -> None:
        self.backend = MemoryEngine().open(Path("."), schema.ALL_BUCKETS, MemoryOptions())
        self.store = AuthStore(self.backend, SimpleTokens(ttl=300))
        self.applier = AuthApplier(self.store, Lessor(min_ttl=1))
        self.index = 0

    def apply(self, name: str, body: Any, user: str = "", revision: int = 0) -> Any:
        self.index += 1
        with self.backend.write() as btx:
            self.applier.authorize(RequestHeader(username=user, auth_revision=revision), name, body)
            result = (
                self.applier.apply(btx, name, body, self.index) if (name in AUTH_REQUESTS) else None
            )
            btx.commit()
        return result

    def as_root(self, name: str, body: Any) -> Any:
        return self.apply(name, body, "root", self.store.revision)

    def enable(self) -> None:
        self.apply("auth_user_add", pb.AuthUserAddRequest(name="root", hashedPassword="x"))
        self.apply("auth_role_add", pb.AuthRoleAddRequest(name="root"))
        self.apply("auth_user_grant_role", pb.AuthUserGrantRoleRequest(user="root", role="root"))
        self.apply("auth_enable", pb.AuthEnableRequest())


@pytest.fixture
def auth() -> Auth:
    return Auth()


def raises(error: errors.EtcdError, auth: Auth, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(errors.EtcdError) as caught:
        auth.apply(*args, **kwargs)
    assert caught.value == error


def test_enable_needs_root_user_with_root_role(auth: Auth) -> None:
    raises(errors.ROOT_USER_NOT_EXIST, auth, "auth_enable", pb.AuthEnableRequest())
    auth.apply("auth_user_add", pb.AuthUserAddRequest(name="root", hashedPassword="x"))
    raises(errors.ROOT_ROLE_NOT_EXIST, auth, "auth_enable", pb.AuthEnableRequest())
    auth.apply("auth_user_grant_role", pb.AuthUserGrantRoleRequest(user="root", role="root"))
    auth.apply("auth_enable", pb.AuthEnableRequest())
    assert auth.store.enabled


def test_revision_starts_at_one_and_counts_changes_as_etcd_does(auth: Auth) -> None:
    status = auth.apply("auth_status", pb.AuthStatusRequest())
    assert (status.enabled, status.authRevision) == (False, 1)
    auth.enable()  # user add, role add, grant: +3; enable keeps the revision
    assert auth.store.revision == 4
    auth.as_root("auth_user_grant_role", pb.AuthUserGrantRoleRequest(user="root", role="root"))
    assert auth.store.revision == 4  # granting a role already held changes nothing
    auth.as_root("auth_disable", pb.AuthDisableRequest())
    assert auth.store.revision == 5 and not auth.store.enabled


def test_admin_requests_need_root_at_apply(auth: Auth) -> None:
    auth.enable()
    auth.as_root("auth_user_add", pb.AuthUserAddRequest(name="u", hashedPassword="x"))
    rev = auth.store.revision
    raises(errors.USER_EMPTY, auth, "auth_user_list", pb.AuthUserListRequest())
    raises(errors.PERMISSION_DENIED, auth, "auth_user_list", pb.AuthUserListRequest(), "u", rev)
    raises(errors.USER_NOT_FOUND, auth, "auth_role_list", pb.AuthRoleListRequest(), "x", rev)
    # A user may read their own record and the roles they hold without root.
    assert list(auth.apply("auth_user_get", pb.AuthUserGetRequest(name="u"), "u", rev).roles) == []
    raises(
        errors.PERMISSION_DENIED,
        auth,
        "auth_user_get",
        pb.AuthUserGetRequest(name="root"),
        "u",
        rev,
    )


def test_stale_auth_revision_is_refused_at_apply(auth: Auth) -> None:
    auth.enable()
    auth.as_root("auth_user_add", pb.AuthUserAddRequest(name="u", hashedPassword="x"))
    auth.as_root("auth_role_add", pb.AuthRoleAddRequest(name="w"))
    perm = Permission(permType=Permission.READWRITE, key=b"k", range_end=b"l")
    auth.as_root(
        "auth_role_grant_permission", pb.AuthRoleGrantPermissionRequest(name="w", perm=perm)
    )
    auth.as_root("auth_user_grant_role", pb.AuthUserGrantRoleRequest(user="u", role="w"))
    checked_at = auth.store.revision
    put = pb.PutRequest(key=b"k1", value=b"v")
    auth.apply("put", put, "u", checked_at)
    # The permission is revoked after the caller's token was checked: refused as stale.
    auth.as_root(
        "auth_role_revoke_permission",
        pb.AuthRoleRevokePermissionRequest(role="w", key=b"k", range_end=b"l"),
    )
    raises(errors.AUTH_OLD_REVISION, auth, "put", put, "u", checked_at)
    raises(errors.PERMISSION_DENIED, auth, "put", put, "u", auth.store.revision)


def test_txn_checks_every_compare_and_op(auth: Auth) -> None:
    auth.enable()
    auth.as_root("auth_user_add", pb.AuthUserAddRequest(name="u", hashedPassword="x"))
    auth.as_root("auth_role_add", pb.AuthRoleAddRequest(name="r"))
    for perm_type, key in [(Permission.READ, b"r"), (Permission.WRITE, b"w")]:
        perm = Permission(permType=perm_type, key=key)
        auth.as_root(
            "auth_role_grant_permission", pb.AuthRoleGrantPermissionRequest(name="r", perm=perm)
        )
    auth.as_root("auth_user_grant_role", pb.AuthUserGrantRoleRequest(user="u", role="r"))
    u = AuthInfo("u", auth.store.revision)

    def txn(compare: bytes, success: pb.RequestOp) -> pb.TxnRequest:
        return pb.TxnRequest(compare=[pb.Compare(key=compare)], success=[success])

    read_r = pb.RequestOp(request_range=pb.RangeRequest(key=b"r"))
    put_w = pb.RequestOp(request_put=pb.PutRequest(key=b"w"))
    del_w_prev = pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=b"w", prev_kv=True))
    nested = pb.RequestOp(request_txn=pb.TxnRequest(success=[put_w, read_r]))
    auth.store.check_txn(u, txn(b"r", put_w))
    auth.store.check_txn(u, txn(b"r", nested))
    for bad in [
        txn(b"w", put_w),
        txn(b"r", del_w_prev),
        txn(b"r", pb.RequestOp(request_put=pb.PutRequest(key=b"r"))),
        txn(b"r", pb.RequestOp(request_txn=pb.TxnRequest(failure=[del_w_prev]))),
    ]:
        with pytest.raises(errors.EtcdError) as caught:
            auth.store.check_txn(u, bad)
        assert caught.value == errors.PERMISSION_DENIED


def test_authenticate_assigns_a_token_naming_the_entry_index(auth: Auth) -> None:
    auth.enable()
    request = InternalAuthenticateRequest(name="root", simple_token="prefix")
    token = auth.apply("authenticate", request).token
    assert token == f"prefix.{auth.index}"
    assert auth.store.info_from_token(token) == AuthInfo("root", auth.store.revision)
    auth.as_root(
        "auth_user_change_password",
        pb.AuthUserChangePasswordRequest(name="root", hashedPassword="y"),
    )
    with pytest.raises(errors.EtcdError):
        auth.store.info_from_token(token)


def test_role_delete_takes_the_role_from_its_users(auth: Auth) -> None:
    auth.apply("auth_user_add", pb.AuthUserAddRequest(name="u", hashedPassword="x"))
    auth.apply("auth_role_add", pb.AuthRoleAddRequest(name="r"))
    auth.apply("auth_user_grant_role", pb.AuthUserGrantRoleRequest(user="u", role="r"))
    auth.apply("auth_role_delete", pb.AuthRoleDeleteRequest(role="r"))
    assert list(auth.apply("auth_user_get", pb.AuthUserGetRequest(name="u")).roles) == []
