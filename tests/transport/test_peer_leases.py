"""Calls forwarded between members (lease renew and time to live, learner promotion):
the answer, or the leader's etcd error as itself, or OSError for a peer that is unknown
or down."""

from __future__ import annotations

import pytest

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.transport import PeerHandler, PeerTransport

from .peers import members, run_async


@run_async
async def test_renew_answers_and_errors_cross_the_wire(transport: PeerTransport) -> None:
    async with members(transport, 2) as (a, b):
        assert isinstance(b.handler, PeerHandler)
        b.handler.leases[7] = 30
        assert await a.network.lease_renew(b.id, 7, timeout=5.0) == 30
        with pytest.raises(errors.EtcdError) as unknown:
            await a.network.lease_renew(b.id, 8, timeout=5.0)
        assert unknown.value == errors.LEASE_NOT_FOUND
        b.handler.leading = False
        with pytest.raises(errors.EtcdError) as not_leader:
            await a.network.lease_renew(b.id, 7, timeout=5.0)
        assert not_leader.value == errors.NOT_LEADER


@run_async
async def test_time_to_live_round_trip(transport: PeerTransport) -> None:
    async with members(transport, 2) as (a, b):
        b.handler.leases[7] = 30
        asked = pb.LeaseTimeToLiveRequest(ID=7, keys=True)
        got = await a.network.lease_time_to_live(b.id, asked, timeout=5.0)
        assert got == pb.LeaseTimeToLiveResponse(ID=7, TTL=30, grantedTTL=30, keys=[b"key-of-7"])
        unknown = await a.network.lease_time_to_live(
            b.id, pb.LeaseTimeToLiveRequest(ID=9), timeout=5.0
        )
        assert (unknown.ID, unknown.TTL) == (9, -1)


@run_async
async def test_member_promote_round_trip(transport: PeerTransport) -> None:
    async with members(transport, 2) as (a, b):
        got = await a.network.member_promote(b.id, pb.MemberPromoteRequest(ID=7), timeout=5.0)
        assert [(m.ID, m.name) for m in got.members] == [(7, "promoted")]
        with pytest.raises(errors.EtcdError) as unknown:
            await a.network.member_promote(b.id, pb.MemberPromoteRequest(ID=8), timeout=5.0)
        assert unknown.value == errors.MEMBER_NOT_FOUND


@run_async
async def test_unknown_or_down_peer_is_an_oserror(transport: PeerTransport) -> None:
    async with members(transport, 2, started=1) as (a, b):
        with pytest.raises(OSError, match="not a peer"):
            await a.network.lease_renew(99, 7, timeout=1.0)
        with pytest.raises(OSError):
            await a.network.lease_renew(b.id, 7, timeout=1.0)  # b never started


@run_async
async def test_a_member_of_another_cluster_is_refused(transport: PeerTransport) -> None:
    async with members(transport, 2, cluster_ids=[0xC1, 0xC2]) as (a, b):
        b.handler.leases[7] = 30
        with pytest.raises(OSError, match="FAILED_PRECONDITION"):
            await a.network.lease_renew(b.id, 7, timeout=5.0)
        with pytest.raises(OSError, match="FAILED_PRECONDITION"):
            await a.network.lease_time_to_live(b.id, pb.LeaseTimeToLiveRequest(ID=7), 5.0)
