"""etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact."""

from __future__ import annotations

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import InternalRaftRequest
from kvcore.server import kv_apply, kv_validate
from kvcore.server.etcdserver import EtcdServer
from kvcore.transport import CallContext


class KVService:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    async def range(self, request: pb.RangeRequest, ctx: CallContext) -> pb.RangeResponse:
        kv_validate.check_range(request)
        if not request.serializable:
            await self._server.linearizable_read()
        return self._server.stamp(self._server.kv.range(request))

    async def put(self, request: pb.PutRequest, ctx: CallContext) -> pb.PutResponse:
        kv_validate.check_put(request)
        return await self._server.propose(InternalRaftRequest(put=request))

    async def delete_range(
        self, request: pb.DeleteRangeRequest, ctx: CallContext
    ) -> pb.DeleteRangeResponse:
        kv_validate.check_delete_range(request)
        return await self._server.propose(InternalRaftRequest(delete_range=request))

    async def txn(self, request: pb.TxnRequest, ctx: CallContext) -> pb.TxnResponse:
        server = self._server
        kv_validate.check_txn(request, server.limits.max_txn_ops)
        if not kv_apply.is_read_only(request):
            return await server.propose(InternalRaftRequest(txn=request))
        if not kv_apply.is_serializable(request):
            await server.linearizable_read()
        with server.backend.read() as rtx:
            return server.stamp(server.kv.txn(rtx, request))

    async def compact(
        self, request: pb.CompactionRequest, ctx: CallContext
    ) -> pb.CompactionResponse:
        response = await self._server.propose(InternalRaftRequest(compaction=request))
        if request.physical:
            await self._server.wait_compacted()  # the old versions are gone from disk
        return response
