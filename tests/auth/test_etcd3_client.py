"""The PyPI etcd3 client with a user name and password, over TLS: it logs in, sends its
token, and meets the same refusals from kvcore as from etcd."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.certs import Authority, KeyPair
from support.etcd3probe import run_probe
from support.process import Supervisor
from support.servers import NodeFactory

from . import steps
from .test_tls import TlsEtcd, _start, _TlsServer

# Another client over paths the etcdctl tests already cover: left to the full run.
pytestmark = [pytest.mark.etcd, pytest.mark.slow]

PROBE = Path(__file__).with_name("etcd3_auth_probe.py")


def _probe(server: _TlsServer, client: KeyPair, user: str, password: str) -> Any:
    argv = [server.endpoint, user, password, str(server.ca), str(client.cert), str(client.key)]
    return run_probe(PROBE, *argv)


def _setup(server: _TlsServer, root: KeyPair) -> None:
    steps.run(server.ctl(root), steps.ROOT + steps.LIMITED_USER + steps.ENABLE)


def test_etcd3_client_as_a_limited_user(
    supervisor: Supervisor, nodes: NodeFactory, tmp_path: Path
) -> None:
    (tmp_path / "certs").mkdir()
    authority = Authority(tmp_path / "certs")
    kvcore = _start(supervisor, nodes, tmp_path, authority, client_cert_auth=True)
    (tmp_path / "etcd").mkdir()
    etcd = TlsEtcd(
        supervisor, tmp_path / "etcd", authority.ca, authority.issue("server", True), kvcore.probe
    )
    nodes.adopt(etcd)
    etcd.start()
    root, nobody = authority.issue("root"), authority.issue("nobody")
    for server in (kvcore, etcd):
        _setup(server, root)
    got = _probe(kvcore, nobody, "u", "upw")
    assert got == _probe(etcd, nobody, "u", "upw")
    assert ["get-allowed", "ok", "1"] in got  # the probe did what it says
    assert _probe(kvcore, nobody, "u", "wrong") == _probe(etcd, nobody, "u", "wrong")
