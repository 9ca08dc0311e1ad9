"""etcdserverpb.Lease: LeaseGrant, LeaseRevoke, LeaseKeepAlive, LeaseTimeToLive, LeaseLeases."""

from __future__ import annotations

from collections.abc import AsyncIterator

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import InternalRaftRequest
from kvcore.server.etcdserver import EtcdServer
from kvcore.transport import CallContext

# Lease ids are positive int64s (etcd keeps the sign bit clear).
_ID_MASK = (1 << 63) - 1


class LeaseService:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    async def lease_grant(
        self, request: pb.LeaseGrantRequest, ctx: CallContext
    ) -> pb.LeaseGrantResponse:
        while request.ID == 0:  # none asked for: choose one, unique as request ids are
            request.ID = self._server.new_id() & _ID_MASK
        return await self._server.propose(InternalRaftRequest(lease_grant=request))

    async def lease_revoke(
        self, request: pb.LeaseRevokeRequest, ctx: CallContext
    ) -> pb.LeaseRevokeResponse:
        return await self._server.propose(InternalRaftRequest(lease_revoke=request))

    async def lease_keep_alive(
        self, requests: AsyncIterator[pb.LeaseKeepAliveRequest], ctx: CallContext
    ) -> AsyncIterator[pb.LeaseKeepAliveResponse]:
        """One answer per request, in order; an unknown lease gets TTL 0."""
        async for request in requests:
            # The header is taken before the renewal, as etcd's is: a client never sees
            # a keep-alive succeed at a revision after the lease's revoke.
            header = self._server.header()
            try:
                ttl = await self._server.lease_calls.renew(request.ID)
            except errors.EtcdError as exc:
                if exc != errors.LEASE_NOT_FOUND:
                    raise
                ttl = 0
            yield pb.LeaseKeepAliveResponse(header=header, ID=request.ID, TTL=ttl)

    async def lease_time_to_live(
        self, request: pb.LeaseTimeToLiveRequest, ctx: CallContext
    ) -> pb.LeaseTimeToLiveResponse:
        response = await self._server.lease_calls.time_to_live(request)
        response.header.Clear()  # the answering member's header, as etcd fills it
        return self._server.stamp(response)

    async def lease_leases(
        self, request: pb.LeaseLeasesRequest, ctx: CallContext
    ) -> pb.LeaseLeasesResponse:
        leases = [pb.LeaseStatus(ID=lease.id) for lease in self._server.lessor.leases()]
        return pb.LeaseLeasesResponse(header=self._server.header(), leases=leases)
