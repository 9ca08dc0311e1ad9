"""etcdserverpb.Maintenance."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator

from kvcore import ETCD_API_VERSION, backend_stream, errors, schema
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.mvcc.hash import hash_kv
from kvcore.server import snapshot_file
from kvcore.server.etcdserver import EtcdServer
from kvcore.transport import CallContext

# How often MoveLeader looks whether the transfer is done.
_TRANSFER_POLL_SECONDS = 0.02


class MaintenanceService:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    async def status(self, request: pb.StatusRequest, ctx: CallContext) -> pb.StatusResponse:
        server = self._server
        return pb.StatusResponse(
            header=server.header(),
            version=ETCD_API_VERSION,
            dbSize=server.backend.size(),
            dbSizeInUse=server.backend.size_in_use(),
            leader=server.leader_id,
            raftIndex=server.committed_index,
            raftTerm=server.term,
            raftAppliedIndex=server.applied_index,
            isLearner=server.membership.local.is_learner,
        )

    async def move_leader(
        self, request: pb.MoveLeaderRequest, ctx: CallContext
    ) -> pb.MoveLeaderResponse:
        server = self._server
        if not server.is_leader:
            raise errors.NOT_LEADER
        target = server.membership.get(request.targetID)
        if target is None or target.is_learner:
            raise errors.BAD_LEADER_TRANSFEREE
        server.driver.transfer_leader(request.targetID)
        try:
            async with asyncio.timeout(server.limits.request_timeout):
                while server.leader_id != request.targetID:
                    await asyncio.sleep(_TRANSFER_POLL_SECONDS)
        except TimeoutError:
            raise errors.TIMEOUT_LEADER_TRANSFER from None
        return pb.MoveLeaderResponse(header=server.header())

    async def defragment(
        self, request: pb.DefragmentRequest, ctx: CallContext
    ) -> pb.DefragmentResponse:
        # On the loop, as etcd's defragmentation blocks every other request: the backend
        # is used from one thread at a time.
        self._server.backend.defragment()
        return pb.DefragmentResponse(header=self._server.header())

    async def hash(self, request: pb.HashRequest, ctx: CallContext) -> pb.HashResponse:
        dump = backend_stream.dump_bytes(self._server.backend, schema.ALL_BUCKETS)
        return pb.HashResponse(header=self._server.header(), hash=zlib.crc32(dump))

    async def hash_kv(self, request: pb.HashKVRequest, ctx: CallContext) -> pb.HashKVResponse:
        store = self._server.store
        rev = request.revision or store.current_revision
        if rev > store.current_revision:
            raise errors.FUTURE_REV
        if rev < store.compact_revision:
            raise errors.COMPACTED
        return pb.HashKVResponse(
            header=self._server.header(),
            hash=hash_kv(
                self._server.backend,
                rev,
                store.compact_revision,
                store.index.keep(store.compact_revision),
            ),
            compact_revision=store.compact_revision,
        )

    async def snapshot(
        self, request: pb.SnapshotRequest, ctx: CallContext
    ) -> AsyncIterator[pb.SnapshotResponse]:
        dump = backend_stream.dump_bytes(self._server.backend, schema.ALL_BUCKETS)
        header = self._server.header()
        for blob, remaining in snapshot_file.stream(dump):
            yield pb.SnapshotResponse(header=header, remaining_bytes=remaining, blob=blob)
