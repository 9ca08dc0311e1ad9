"""Tokens over gRPC, kvcore against etcd 3.4: what a stale, forged or missing token
gets, and what Authenticate answers; a token's TTL (kvcore only: etcd's is minutes)."""

from __future__ import annotations

import time

import pytest
from support.servers import NodeFactory, Server

from kvcore.api.authpb.auth_pb2 import Permission, UserAddOptions
from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .authclient import AuthClient, failure

RANGE_K = pb.RangeRequest(key=b"k")


def _setup(client: AuthClient) -> None:
    """root, and u with readwrite on k."""
    steps = [
        ("Auth.UserAdd", pb.AuthUserAddRequest(name="root", password="rootpw")),
        ("Auth.RoleAdd", pb.AuthRoleAddRequest(name="root")),
        ("Auth.UserGrantRole", pb.AuthUserGrantRoleRequest(user="root", role="root")),
        ("Auth.UserAdd", pb.AuthUserAddRequest(name="u", password="upw")),
        (
            "Auth.UserAdd",
            pb.AuthUserAddRequest(name="cn", options=UserAddOptions(no_password=True)),
        ),
        ("Auth.RoleAdd", pb.AuthRoleAddRequest(name="r")),
        (
            "Auth.RoleGrantPermission",
            pb.AuthRoleGrantPermissionRequest(
                name="r", perm=Permission(permType=Permission.READWRITE, key=b"k")
            ),
        ),
        ("Auth.UserGrantRole", pb.AuthUserGrantRoleRequest(user="u", role="r")),
    ]
    for method, request in steps:
        assert failure(client.call(method, request)) == "ok", method


def _token_story(server: Server) -> list[str]:
    """Every outcome of one scripted session, as "CODE: details" or "ok"."""
    seen: list[str] = []
    with AuthClient(server.endpoint) as client:
        _setup(client)
        login = pb.AuthenticateRequest(name="u", password="upw")
        seen.append(failure(client.call("Auth.Authenticate", login)))
        seen.append(failure(client.call("Auth.AuthEnable", pb.AuthEnableRequest())))
        seen.append(failure(client.call("KV.Range", RANGE_K)))
        seen.append(failure(client.call("KV.Range", RANGE_K, token="forged")))
        seen.append(failure(client.call("KV.Range", RANGE_K, token="forged.1")))
        seen.append(failure(client.call("KV.Put", pb.PutRequest(key=b"k"), token="x.1")))
        for name, password in [("u", "bad"), ("nobody", "x"), ("cn", ""), ("cn", "x")]:
            attempt = pb.AuthenticateRequest(name=name, password=password)
            seen.append(failure(client.call("Auth.Authenticate", attempt)))
        root = client.token("root", "rootpw")
        user = client.token("u", "upw")
        seen.append(failure(client.call("KV.Put", pb.PutRequest(key=b"k", value=b"1"), user)))
        seen.append(failure(client.call("KV.Range", RANGE_K, token=user)))
        # etcd reads the token from "authorization" metadata too ("token" first).
        seen.append(failure(client.call("KV.Range", RANGE_K, user, key="authorization")))
        other = pb.RangeRequest(key=b"other")
        seen.append(failure(client.call("KV.Range", other, user, key="authorization")))
        # The password changes: tokens given before are no longer valid.
        change = pb.AuthUserChangePasswordRequest(name="u", password="new")
        seen.append(failure(client.call("Auth.UserChangePassword", change, root)))
        seen.append(failure(client.call("KV.Range", RANGE_K, token=user)))
        seen.append(failure(client.call("KV.Put", pb.PutRequest(key=b"k"), user)))
        user = client.token("u", "new")
        # A role revoked: the same token is now denied.
        revoke = pb.AuthUserRevokeRoleRequest(name="u", role="r")
        seen.append(failure(client.call("Auth.UserRevokeRole", revoke, root)))
        seen.append(failure(client.call("KV.Range", RANGE_K, token=user)))
        # The user deleted: the token is gone.
        seen.append(
            failure(client.call("Auth.UserDelete", pb.AuthUserDeleteRequest(name="u"), root))
        )
        seen.append(failure(client.call("KV.Range", RANGE_K, token=user)))
        seen.append(failure(client.call("Maintenance.Hash", pb.HashRequest(), user)))
        # Auth disabled: every token is dropped, even root's.
        seen.append(failure(client.call("Auth.AuthDisable", pb.AuthDisableRequest(), root)))
        seen.append(failure(client.call("KV.Range", RANGE_K, token=root)))
        seen.append(failure(client.call("KV.Range", RANGE_K)))
        seen.append(failure(client.call("Auth.Authenticate", login)))
    return seen


@pytest.mark.etcd
def test_tokens_as_etcd_treats_them(nodes: NodeFactory) -> None:
    kvcore, etcd = nodes.start("kvcore"), nodes.start("etcd")
    assert _token_story(kvcore) == _token_story(etcd)


@pytest.mark.slow  # waits out a TTL
def test_an_unused_token_expires_after_its_ttl(nodes: NodeFactory) -> None:
    server = nodes.start("kvcore", auth={"token_ttl": 1})
    with AuthClient(server.endpoint) as client:
        _setup(client)
        assert failure(client.call("Auth.AuthEnable", pb.AuthEnableRequest())) == "ok"
        used = client.token("u", "upw")
        idle = client.token("u", "upw")
        for _ in range(4):  # each use renews the token
            time.sleep(0.5)
            assert failure(client.call("KV.Range", RANGE_K, token=used)) == "ok"
        assert failure(client.call("KV.Range", RANGE_K, token=idle)) == (
            "UNAUTHENTICATED: etcdserver: invalid auth token"
        )


def test_auth_status(nodes: NodeFactory) -> None:
    """etcd 3.4 has no AuthStatus: kvcore answers as etcd 3.5 does."""
    server = nodes.start("kvcore")
    with AuthClient(server.endpoint) as client:
        status = client.call("Auth.AuthStatus", pb.AuthStatusRequest())
        assert (status.enabled, status.authRevision) == (False, 1)
        _setup(client)  # 8 changes
        client.call("Auth.AuthEnable", pb.AuthEnableRequest())
        assert failure(client.call("Auth.AuthStatus", pb.AuthStatusRequest())) == (
            "INVALID_ARGUMENT: etcdserver: user name is empty"
        )
        root = client.token("root", "rootpw")
        status = client.call("Auth.AuthStatus", pb.AuthStatusRequest(), root)
        assert (status.enabled, status.authRevision) == (True, 9)
