"""v3electionpb.Election: Campaign, Proclaim, Leader, Observe, Resign (etcd's
v3election server over concurrency's Election).

An election ``name`` is the key prefix ``name/``; each candidate holds the key
``name/<lease in hex>`` on its lease (a new one, never kept alive, when it asks with
lease 0) and the leader is the key created first. A campaign returns once every key
created before the candidate's own is deleted, waiting only for the one just before it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.mvccpb.kv_pb2 import Event
from kvcore.api.v3electionpb import v3election_pb2 as epb
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.services import concurrency
from kvcore.transport import CallContext

# etcd returns these as plain errors from its handlers: gRPC code Unknown.
NO_LEADER = errors.EtcdError(errors.Code.UNKNOWN, "election: no leader")
NOT_LEADER = errors.EtcdError(errors.Code.UNKNOWN, "election: not leader")
MISSING_LEADER_KEY = errors.EtcdError(errors.Code.UNKNOWN, '"leader" field must be provided')


class ElectionService:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server
        self._client = concurrency.Client(server)

    async def campaign(
        self, request: epb.CampaignRequest, ctx: CallContext
    ) -> epb.CampaignResponse:
        client = self._client
        lease = await client.session_lease(request.lease, ctx)
        prefix = request.name + b"/"
        key = concurrency.session_key(prefix, lease)
        put = pb.PutRequest(key=key, value=request.value, lease=lease)
        entered = await client.txn(
            pb.TxnRequest(
                compare=[concurrency.created_at(key, 0)],
                success=[pb.RequestOp(request_put=put)],
                failure=[pb.RequestOp(request_range=pb.RangeRequest(key=key))],
            ),
            ctx,
        )
        leader = epb.LeaderKey(name=request.name, key=key, rev=entered.header.revision, lease=lease)
        if not entered.succeeded:
            # Campaigning again on the same lease resumes that candidacy.
            kv = entered.responses[0].response_range.kvs[0]
            leader.rev = kv.create_revision
            if kv.value != request.value:
                try:
                    await self._proclaim(leader, lease, request.value, ctx)
                except BaseException:
                    await concurrency.withdraw(self._resign(leader, ctx))
                    raise
        try:
            await client.wait_deletes(prefix, leader.rev - 1, ctx)
        except asyncio.CancelledError:
            await concurrency.withdraw(self._resign(leader, ctx))  # the caller gave up
            raise
        # etcd answers with the header of the write that entered the candidate.
        return epb.CampaignResponse(header=entered.header, leader=leader)

    async def proclaim(
        self, request: epb.ProclaimRequest, ctx: CallContext
    ) -> epb.ProclaimResponse:
        if not request.HasField("leader"):
            raise MISSING_LEADER_KEY
        lease = await self._client.session_lease(request.leader.lease, ctx)
        header = await self._proclaim(request.leader, lease, request.value, ctx)
        return epb.ProclaimResponse(header=header)

    async def _proclaim(
        self, leader: epb.LeaderKey, lease: int, value: bytes, ctx: CallContext
    ) -> pb.ResponseHeader:
        """Put ``value`` on ``lease`` under the leader's key while it is the same key."""
        put = pb.PutRequest(key=leader.key, value=value, lease=lease)
        done = await self._client.txn(
            pb.TxnRequest(
                compare=[concurrency.created_at(leader.key, leader.rev)],
                success=[pb.RequestOp(request_put=put)],
            ),
            ctx,
        )
        if not done.succeeded:
            raise NOT_LEADER
        return done.header

    async def resign(self, request: epb.ResignRequest, ctx: CallContext) -> epb.ResignResponse:
        if not request.HasField("leader"):
            raise MISSING_LEADER_KEY
        # etcd opens a session here too: lease 0 is granted a lease that goes unused.
        await self._client.session_lease(request.leader.lease, ctx)
        return epb.ResignResponse(header=await self._resign(request.leader, ctx))

    async def _resign(self, leader: epb.LeaderKey, ctx: CallContext) -> pb.ResponseHeader:
        """Delete the leader's key if it is still the same key; either way, the header."""
        delete = pb.DeleteRangeRequest(key=leader.key)
        done = await self._client.txn(
            pb.TxnRequest(
                compare=[concurrency.created_at(leader.key, leader.rev)],
                success=[pb.RequestOp(request_delete_range=delete)],
            ),
            ctx,
        )
        return done.header

    async def leader(self, request: epb.LeaderRequest, ctx: CallContext) -> epb.LeaderResponse:
        found = await self._client.first_created(request.name + b"/", ctx)
        if not found.kvs:
            raise NO_LEADER
        return epb.LeaderResponse(header=found.header, kv=found.kvs[0])

    async def observe(
        self, request: epb.LeaderRequest, ctx: CallContext
    ) -> AsyncIterator[epb.LeaderResponse]:
        """Every leader in turn and each new value it proclaims, as etcd's Observe: it
        may skip leaders that come and go between two looks, never the current one."""
        server, client = self._server, self._client
        prefix = request.name + b"/"
        while True:
            try:
                found = await client.first_created(prefix, ctx)
            except errors.EtcdError:
                return  # etcd's observer ends its stream quietly when a read fails
            if found.kvs:
                header, kv = found.header, found.kvs[0]
            else:
                # No candidate yet: the first key put under the prefix leads.
                start = found.header.revision
                watch = client.events(prefix, concurrency.prefix_end(prefix), start)
                async with contextlib.aclosing(watch) as events:
                    async for _, event in events:
                        if event.type == Event.PUT:
                            break
                    else:
                        return
                kv = event.kv
                header = server.header(kv.mod_revision)
            yield epb.LeaderResponse(header=header, kv=kv)
            watch = client.events(kv.key, None, header.revision + 1)
            async with contextlib.aclosing(watch) as events:
                async for revision, event in events:
                    if event.type == Event.DELETE:
                        break  # the next candidate leads: look again
                    yield epb.LeaderResponse(header=server.header(revision), kv=event.kv)
                else:
                    return
