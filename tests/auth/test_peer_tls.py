"""TLS between members: a three-member cluster whose peer listeners require
certificates signed by the test CA; a peer without one is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
import yaml
from kvcore_grpc.peer_members import fetch_members
from support.certs import Authority
from support.cluster import KvcoreCluster
from support.process import Supervisor


@pytest.mark.slow  # a whole cluster: left to the full run
def test_members_talk_over_tls_and_refuse_strangers(supervisor: Supervisor, tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    authority = Authority(tmp_path / "certs")
    member_cert = authority.issue("member", server=True)
    tls = {
        "cert_file": str(member_cert.cert),
        "key_file": str(member_cert.key),
        "ca_file": str(authority.ca),
        "client_cert_auth": True,
    }
    cluster = KvcoreCluster(supervisor, tmp_path / "cluster", 3)
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

        peer = cluster[names[0]].peer_url
        stranger = authority.issue("stranger")  # signed by the CA: let in
        ok = grpc.ssl_channel_credentials(
            authority.ca.read_bytes(), stranger.key.read_bytes(), stranger.cert.read_bytes()
        )
        assert asyncio.run(fetch_members([peer], 5.0, ok))
        for credentials in (None, grpc.ssl_channel_credentials(authority.ca.read_bytes())):
            with pytest.raises(OSError):
                asyncio.run(fetch_members([peer], 1.0, credentials))
    finally:
        cluster.stop_all()
