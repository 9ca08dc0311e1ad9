"""TLS on the client listener, with certificates the test makes: etcdctl with
--cacert/--cert/--key, a client without a certificate refused under client-cert auth,
and the certificate's common name as the user when a request carries no token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from support.certs import Authority, KeyPair
from support.etcdctl import CtlResult, Etcdctl
from support.process import ManagedProcess, Supervisor
from support.servers import (
    EtcdServer,
    KvcoreServer,
    NodeFactory,
    client_transport,
    kvcore_config,
    write_yaml,
)

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc

DENIED = "Error: etcdserver: permission denied"


class _TlsServer:
    """What a TLS server needs in tests: a probe and etcdctl that speak TLS."""

    endpoint: str
    ca: Path
    probe: KeyPair

    def _serves(self) -> bool:
        credentials = grpc.ssl_channel_credentials(
            self.ca.read_bytes(), self.probe.key.read_bytes(), self.probe.cert.read_bytes()
        )
        with grpc.secure_channel(self.endpoint, credentials) as channel:
            try:
                rpc_pb2_grpc.MaintenanceStub(channel).Status(pb.StatusRequest(), timeout=1.0)
            except grpc.RpcError:
                return False
        return True

    def ctl(self, client: KeyPair | None = None) -> Etcdctl:
        return _TlsEtcdctl(self.endpoint, self.ca, client)


class TlsKvcore(_TlsServer, KvcoreServer):
    """A kvcore whose client listener speaks TLS."""

    def __init__(
        self,
        supervisor: Supervisor,
        workdir: Path,
        ca: Path,
        server: KeyPair,
        probe: KeyPair,
        client_cert_auth: bool,
    ) -> None:
        super().__init__(supervisor, workdir)
        self.ca, self.probe = ca, probe
        tls: dict[str, Any] = {
            "cert_file": str(server.cert),
            "key_file": str(server.key),
            "ca_file": str(ca),
            "client_cert_auth": client_cert_auth,
        }
        listener = {"transport": client_transport(), "address": self.endpoint}
        listener["options"] = {"tls": tls}
        write_yaml(
            self.config_path,
            kvcore_config(self.endpoint, self.data_dir, client_listeners=[listener]),
        )


class TlsEtcd(_TlsServer, EtcdServer):
    """A real etcd serving clients over TLS with --client-cert-auth."""

    def __init__(
        self, supervisor: Supervisor, workdir: Path, ca: Path, server: KeyPair, probe: KeyPair
    ) -> None:
        super().__init__(supervisor, workdir)
        self.ca, self.probe, self._server_pair = ca, probe, server

    def _make_process(self) -> ManagedProcess:
        plain = super()._make_process()
        client_url = f"https://{self.endpoint}"
        argv = [
            arg
            for arg in plain.argv
            if not arg.startswith(("--listen-client-urls", "--advertise-client-urls"))
        ]
        argv += [
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--cert-file={self._server_pair.cert}",
            f"--key-file={self._server_pair.key}",
            f"--trusted-ca-file={self.ca}",
            "--client-cert-auth",
        ]
        return ManagedProcess(argv, plain.log_path)


class _TlsEtcdctl(Etcdctl):
    def __init__(self, endpoint: str, ca: Path, client: KeyPair | None) -> None:
        super().__init__(endpoint)
        self._tls = [f"--cacert={ca}"]
        if client is not None:
            self._tls += [f"--cert={client.cert}", f"--key={client.key}"]

    def run(self, *args: str, stdin: str | None = None) -> CtlResult:
        return super().run(*self._tls, "--dial-timeout=2s", *args, stdin=stdin)


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    (tmp_path / "certs").mkdir()
    return Authority(tmp_path / "certs")


def _start(
    supervisor: Supervisor,
    nodes: NodeFactory,
    tmp_path: Path,
    authority: Authority,
    client_cert_auth: bool,
) -> TlsKvcore:
    (tmp_path / "node").mkdir()
    server = TlsKvcore(
        supervisor,
        tmp_path / "node",
        authority.ca,
        authority.issue("server", server=True),
        authority.issue("root"),
        client_cert_auth,
    )
    nodes.adopt(server)
    return server.start()  # type: ignore[return-value]


def _error(result: CtlResult) -> str:
    return result.stderr.strip().splitlines()[-1]


def test_client_cert_auth_takes_the_user_from_the_common_name(
    supervisor: Supervisor, nodes: NodeFactory, tmp_path: Path, authority: Authority
) -> None:
    server = _start(supervisor, nodes, tmp_path, authority, client_cert_auth=True)
    root, user = authority.issue("root"), authority.issue("u")
    as_root, as_user = server.ctl(root), server.ctl(user)
    for args in [
        ("user", "add", "root:rootpw"),
        ("role", "add", "root"),
        ("user", "grant-role", "root", "root"),
        ("user", "add", "u", "--no-password"),
        ("role", "add", "r"),
        ("role", "grant-permission", "r", "readwrite", "p/", "--prefix"),
        ("user", "grant-role", "u", "r"),
        ("auth", "enable"),
    ]:
        as_root.run(*args).check()
    assert as_root.run("user", "list").check().stdout == "root\nu\n"
    as_user.run("put", "p/a", "1").check()
    assert as_user.run("get", "p/a", "--print-value-only").check().stdout == "1\n"
    assert _error(as_user.run("put", "other", "1")) == DENIED
    assert _error(as_user.run("user", "list")) == DENIED
    # A token wins over the certificate.
    assert as_user.run("--user", "root:rootpw", "user", "list").check().stdout == "root\nu\n"
    # No certificate, or plain text: no connection at all.
    refused = server.ctl().run("--command-timeout=1s", "get", "p/a")
    assert refused.code != 0 and "deadline exceeded" in refused.stderr
    plain = Etcdctl(server.endpoint).run("--dial-timeout=1s", "--command-timeout=1s", "get", "p/a")
    assert plain.code != 0 and "deadline exceeded" in plain.stderr


def test_tls_without_client_cert_auth(
    supervisor: Supervisor, nodes: NodeFactory, tmp_path: Path, authority: Authority
) -> None:
    server = _start(supervisor, nodes, tmp_path, authority, client_cert_auth=False)
    anonymous = server.ctl()
    anonymous.run("put", "k", "v").check()
    assert anonymous.run("get", "k", "--print-value-only").check().stdout == "v\n"
    for args in [
        ("user", "add", "root:rootpw"),
        ("role", "add", "root"),
        ("user", "grant-role", "root", "root"),
        ("auth", "enable"),
    ]:
        anonymous.run(*args).check()
    # Without client-cert auth a certificate names nobody.
    with_cert = server.ctl(authority.issue("root"))
    assert _error(with_cert.run("get", "k")) == "Error: etcdserver: user name is empty"
    assert (
        anonymous.run("--user", "root:rootpw", "get", "k", "--print-value-only").check().stdout
        == "v\n"
    )


@pytest.mark.etcd
@pytest.mark.slow  # test_client_cert_auth_takes_the_user_from_the_common_name is quicker
def test_client_cert_auth_as_etcd(
    supervisor: Supervisor, nodes: NodeFactory, tmp_path: Path, authority: Authority
) -> None:
    ours = _start(supervisor, nodes, tmp_path, authority, client_cert_auth=True)
    (tmp_path / "etcd").mkdir()
    server_pair = authority.issue("server", server=True)
    theirs = TlsEtcd(supervisor, tmp_path / "etcd", authority.ca, server_pair, ours.probe)
    nodes.adopt(theirs)
    theirs.start()
    root, user, stranger = (authority.issue(cn) for cn in ("root", "u", "stranger"))
    script: list[tuple[KeyPair, tuple[str, ...]]] = [
        (root, ("user", "add", "root:rootpw")),
        (root, ("role", "add", "root")),
        (root, ("user", "grant-role", "root", "root")),
        (root, ("user", "add", "u", "--no-password")),
        (root, ("role", "add", "r")),
        (root, ("role", "grant-permission", "r", "readwrite", "p/", "--prefix")),
        (root, ("user", "grant-role", "u", "r")),
        (user, ("auth", "enable")),
        (root, ("auth", "enable")),
        (root, ("user", "list")),
        (user, ("put", "p/a", "1")),
        (user, ("get", "p/a")),
        (user, ("put", "other", "1")),
        (user, ("get", "other")),
        (user, ("user", "get", "u")),
        (user, ("role", "get", "r")),
        (user, ("user", "list")),
        (user, ("defrag",)),
        (user, ("--user", "root:rootpw", "user", "list")),
        (user, ("--user", "u:x", "get", "p/a")),
        (stranger, ("get", "p/a")),
        (stranger, ("user", "list")),
        (stranger, ("endpoint", "hashkv")),
        (user, ("auth", "disable")),
        (root, ("auth", "disable")),
        (stranger, ("get", "p/a")),
    ]
    for client, args in script:
        got = _outcome(ours.ctl(client).run(*args), ours.endpoint)
        want = _outcome(theirs.ctl(client).run(*args), theirs.endpoint)
        assert got == want, f"etcdctl {' '.join(args)} as {client.cert.stem}"


def _outcome(result: CtlResult, endpoint: str) -> tuple[int, str, str]:
    last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    return result.code, result.stdout, last.replace(endpoint, "<endpoint>")
