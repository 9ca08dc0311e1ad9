"""TLS between members: a three-member cluster whose peer listeners require
certificates signed by the test CA; a peer without one is refused. Once per peer
transport."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from support.certs import Authority
from support.cluster import KvcoreCluster
from support.process import Supervisor

from kvcore.registry import Registry
from kvcore.tls import TlsOptions


@pytest.mark.slow  # a whole cluster: left to the full run
@pytest.mark.parametrize("peer_transport", ["tcp", "grpc"])
def test_members_talk_over_tls_and_refuse_strangers(
    supervisor: Supervisor, tmp_path: Path, peer_transport: str
) -> None:
    (tmp_path / "certs").mkdir()
    authority = Authority(tmp_path / "certs")
    member_cert = authority.issue("member", server=True)
    tls = {
        "cert_file": str(member_cert.cert),
        "key_file": str(member_cert.key),
        "ca_file": str(authority.ca),
        "client_cert_auth": True,
    }
    cluster = KvcoreCluster(supervisor, tmp_path / "cluster", 3, peer_transport=peer_transport)
    for member in cluster.members.values():
        config = yaml.safe_load(member.config_path.read_text())
        config["peer_listener"]["options"] = {"tls": tls}
        member.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        cluster.start()
        names = sorted(cluster.members)
        cluster.etcdctl([cluster[names[0]]]).run("put", "k", "over tls").check()
        for name in names[1:]:
            got = cluster.etcdctl([cluster[name]]).run("get", "k", "--print-value-only")
            assert got.check().stdout == "over tls\n"

        transport = Registry().transport(peer_transport)
        peer = cluster[names[0]].peer_url

        def fetch(tls: TlsOptions | None, timeout: float) -> bytes:
            options = transport.options_model(tls=tls)
            return asyncio.run(transport.fetch_members([peer], timeout, options))

        stranger = authority.issue("stranger")  # signed by the CA: let in
        assert fetch(
            TlsOptions(cert_file=stranger.cert, key_file=stranger.key, ca_file=authority.ca), 5.0
        )
        (tmp_path / "other").mkdir()
        outsider = Authority(tmp_path / "other").issue("outsider")  # another CA's
        for tls in (
            None,
            TlsOptions(cert_file=outsider.cert, key_file=outsider.key, ca_file=authority.ca),
        ):
            with pytest.raises(OSError):
                fetch(tls, 1.0)
    finally:
        cluster.stop_all()
