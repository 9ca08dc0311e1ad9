"""Peer networks over TLS: members with certificates signed by the cluster's CA talk,
a peer without one (or without TLS) gets nowhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.certs import Authority

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.tls import TlsOptions
from kvcore.transport import PeerTransport

from .peers import eventually, members, message, run_async, snapshot_message


def _tls(authority: Authority, name: str) -> TlsOptions:
    pair = authority.issue(name, server=True)
    return TlsOptions(
        cert_file=pair.cert, key_file=pair.key, ca_file=authority.ca, client_cert_auth=True
    )


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path)


def test_everything_crosses_over_tls(transport: PeerTransport, authority: Authority) -> None:
    options = transport.options_model(tls=_tls(authority, "member"))

    @run_async
    async def scenario() -> None:
        async with members(transport, 2, options=options) as (a, b):
            snap = snapshot_message(2, 1, 3 * 1024 * 1024)
            a.network.send([message(2, 1, 1), snap, message(2, 1, 2)])
            b.network.send([message(1, 2, 3)])
            await eventually(lambda: a.handler.snapshots == [(2, True)])
            await eventually(lambda: len(b.handler.received) == 3 and a.handler.received)
            assert [m.index for m in a.handler.received] == [3]
            b.handler.leases[7] = 30
            assert await a.network.lease_renew(b.id, 7, timeout=5.0) == 30
            got = await a.network.lease_time_to_live(b.id, pb.LeaseTimeToLiveRequest(ID=7), 5.0)
            assert got.TTL == 30
            b.handler.members_blob = b"over tls"
            assert await transport.fetch_members([b.url], 5.0, options) == b"over tls"
            assert not (a.handler.unreachable or b.handler.unreachable)

    scenario()


def test_a_peer_without_the_cas_certificate_is_refused(
    transport: PeerTransport, authority: Authority, tmp_path: Path
) -> None:
    options = transport.options_model(tls=_tls(authority, "member"))
    (tmp_path / "other").mkdir()
    stranger = transport.options_model(tls=_tls(Authority(tmp_path / "other"), "stranger"))
    plain = transport.options_model()

    @run_async
    async def scenario() -> None:
        async with members(transport, 1, options=options) as (a,):
            for outsider in (stranger, plain):
                with pytest.raises(OSError):
                    await transport.fetch_members([a.url], 1.0, outsider)

    scenario()
