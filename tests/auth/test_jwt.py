"""JWT tokens, kvcore against etcd 3.4 started with --auth-token=jwt: a token names the
auth revision of its login, so after any change to users or roles it is refused as
"revision of auth store is old", on reads and on writes alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.process import ManagedProcess, Supervisor
from support.servers import EtcdServer, NodeFactory, Server

from kvcore.api.authpb.auth_pb2 import Permission
from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .authclient import AuthClient, failure
from .test_tokens import RANGE_K, _setup

pytestmark = pytest.mark.etcd


class JwtEtcd(EtcdServer):
    def __init__(self, supervisor: Supervisor, workdir: Path, private: Path, public: Path) -> None:
        super().__init__(supervisor, workdir)
        self._jwt = f"jwt,pub-key={public},priv-key={private},sign-method=RS256,ttl=10m"

    def _make_process(self) -> ManagedProcess:
        plain = super()._make_process()
        return ManagedProcess([*plain.argv, f"--auth-token={self._jwt}"], plain.log_path)


def _keys(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = directory / "jwt.key", directory / "jwt.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def _story(server: Server) -> list[str]:
    seen: list[str] = []
    with AuthClient(server.endpoint) as client:
        _setup(client)  # u may read and write k only
        client.call("Auth.AuthEnable", pb.AuthEnableRequest())
        root, user = client.token("root", "rootpw"), client.token("u", "upw")
        put_k = pb.PutRequest(key=b"k", value=b"v")
        seen.append(failure(client.call("KV.Put", put_k, user)))
        seen.append(failure(client.call("KV.Range", RANGE_K, user)))
        # Any change to users or roles: tokens from before name an old revision.
        grant = pb.AuthRoleGrantPermissionRequest(
            name="r", perm=Permission(permType=Permission.READ, key=b"other")
        )
        seen.append(failure(client.call("Auth.RoleGrantPermission", grant, root)))
        seen.append(failure(client.call("KV.Range", RANGE_K, user)))
        seen.append(failure(client.call("KV.Put", put_k, user)))
        seen.append(failure(client.call("Auth.UserList", pb.AuthUserListRequest(), root)))
        user, root = client.token("u", "upw"), client.token("root", "rootpw")
        seen.append(failure(client.call("KV.Range", pb.RangeRequest(key=b"other"), user)))
        seen.append(failure(client.call("KV.Put", put_k, user)))
        seen.append(failure(client.call("KV.Range", RANGE_K, token="not.a.jwt")))
    return seen


def test_jwt_tokens_as_etcd(supervisor: Supervisor, nodes: NodeFactory, tmp_path: Path) -> None:
    private, public = _keys(tmp_path)
    kvcore = nodes.start("kvcore", auth={"jwt": {"private_key": str(private), "ttl": 600}})
    (tmp_path / "etcd").mkdir()
    etcd = JwtEtcd(supervisor, tmp_path / "etcd", private, public)
    nodes.adopt(etcd)
    etcd.start()
    got = _story(kvcore)
    assert got == _story(etcd)
    assert got[3] == "INVALID_ARGUMENT: etcdserver: revision of auth store is old"
