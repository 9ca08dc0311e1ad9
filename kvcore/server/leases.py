"""The server's side of leases: applying grants and revokes, and the calls only the
leader can answer (renew, time to live), answered here or forwarded to the leader.

Grant and revoke go through raft and change every member's lessor when applied.
Renewals and expiries do not: they live in the leader's lessor alone, so a member that
is not the leader forwards KeepAlive and TimeToLive to it over the peer network, as
etcd does over its peer HTTP.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.backend import WriteTxn
from kvcore.lease.lessor import Lessor, RangeDeleter
from kvcore.server.on_leader import POLL_SECONDS, on_leader

if TYPE_CHECKING:
    from kvcore.server.etcdserver import EtcdServer



def apply_grant(lessor: Lessor, btx: WriteTxn, req: pb.LeaseGrantRequest) -> pb.LeaseGrantResponse:
    lease = lessor.grant(btx, req.ID, req.TTL, time.monotonic())
    return pb.LeaseGrantResponse(ID=lease.id, TTL=lease.ttl)


def apply_revoke(
    lessor: Lessor, btx: WriteTxn, w: RangeDeleter, req: pb.LeaseRevokeRequest
) -> pb.LeaseRevokeResponse:
    """Delete the lease and its keys; the caller's TxnWrite ``w`` makes them one revision."""
    lessor.revoke(btx, req.ID, w)
    return pb.LeaseRevokeResponse()


def time_to_live(lessor: Lessor, req: pb.LeaseTimeToLiveRequest) -> pb.LeaseTimeToLiveResponse:
    """The primary's answer. An unknown lease gets etcd's TTL -1 answer, not an error."""
    lease = lessor.lookup(req.ID)
    if lease is None:
        return pb.LeaseTimeToLiveResponse(ID=req.ID, TTL=-1)
    # Go's int64(Duration.Seconds()): truncated toward zero.
    resp = pb.LeaseTimeToLiveResponse(
        ID=req.ID, TTL=math.trunc(lease.remaining(time.monotonic())), grantedTTL=lease.ttl
    )
    if req.keys:
        resp.keys.extend(lease.sorted_keys())
    return resp


class LeaderCalls:
    """Renew and TimeToLive, answered by the leader's lessor wherever they arrive."""

    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    async def renew(self, lease_id: int) -> int:
        """The renewed TTL. Raises LEASE_NOT_FOUND, NO_LEADER or TIMEOUT."""
        return await on_leader(
            self._server,
            lambda: self.renew_here(lease_id),
            lambda peers, leader, left: peers.lease_renew(leader, lease_id, left),
        )

    async def time_to_live(self, req: pb.LeaseTimeToLiveRequest) -> pb.LeaseTimeToLiveResponse:
        return await on_leader(
            self._server,
            lambda: self.time_to_live_here(req),
            lambda peers, leader, left: peers.lease_time_to_live(leader, req, left),
        )

    async def renew_here(self, lease_id: int) -> int:
        """Renew on this member, the leader; raises NOT_LEADER if it is not (or not yet
        primary). An expired lease is being revoked: the answer waits for the revoke
        (LEASE_NOT_FOUND), as etcd's does."""
        lessor = await self._primary()
        lease = lessor.lookup(lease_id)
        while lease is not None and lease.remaining(time.monotonic()) <= 0:
            await asyncio.sleep(POLL_SECONDS)
            if not lessor.primary:
                raise errors.NOT_LEADER
            lease = lessor.lookup(lease_id)
        return lessor.renew(lease_id, time.monotonic())

    async def time_to_live_here(self, req: pb.LeaseTimeToLiveRequest) -> pb.LeaseTimeToLiveResponse:
        return time_to_live(await self._primary(), req)

    async def _primary(self) -> Lessor:
        """This member's lessor once it is primary and has applied what is committed."""
        server = self._server
        if not server.is_leader:
            raise errors.NOT_LEADER
        await server.wait_applied(server.committed_index)
        if not server.lessor.primary:
            raise errors.NOT_LEADER
        return server.lessor
