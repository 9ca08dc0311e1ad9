"""etcdserverpb.Maintenance."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

from crc32c import crc32c

from kvcore import ETCD_API_VERSION, errors, schema
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import InternalRaftRequest
from kvcore.backend import ReadTxn
from kvcore.mvcc.hash import hash_kv
from kvcore.server import offloop, snapshot_file
from kvcore.server.etcdserver import EtcdServer
from kvcore.transport import CallContext

log = logging.getLogger(__name__)

# How often MoveLeader looks whether the transfer is done.
_TRANSFER_POLL_SECONDS = 0.02
# Snapshot messages made per hop to the reading thread: 32 of etcd's 32 KiB blobs.
_FRAMES_PER_BATCH = 32


class MaintenanceService:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server
        self._defragmentation: asyncio.Task[None] | None = None

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
            errors=([] if server.leader_id else [errors.NO_LEADER.message])
            + server.alarms.status_errors(),
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
            async with asyncio.timeout(server.cfg.request_timeout):
                while server.leader_id != request.targetID:
                    await asyncio.sleep(_TRANSFER_POLL_SECONDS)
        except TimeoutError:
            raise errors.TIMEOUT_LEADER_TRANSFER from None
        return pb.MoveLeaderResponse()  # etcd's carries no header

    async def defragment(
        self, request: pb.DefragmentRequest, ctx: CallContext
    ) -> pb.DefragmentResponse:
        # Off the loop where the engine allows it (kvcore.server.offloop): reads and
        # writes go on meanwhile, unlike etcd's, which blocks both. One at a time: a
        # request made while one runs waits for it. A client that gives up waiting
        # (etcdctl's command timeout) does not cut it short.
        if self._defragmentation is None or self._defragmentation.done():
            pause = self._server.cfg.compaction.defragment_pause_ms / 1000
            self._defragmentation = asyncio.create_task(
                offloop.defragment(self._server.backend, pause), name="defragment"
            )
            self._defragmentation.add_done_callback(_log_failure)
        await asyncio.shield(self._defragmentation)
        return pb.DefragmentResponse()  # etcd's carries no header

    async def hash(self, request: pb.HashRequest, ctx: CallContext) -> pb.HashResponse:
        header = self._server.header()
        crc = await offloop.read(self._server.backend, _hash)
        return pb.HashResponse(header=header, hash=crc)

    async def alarm(self, request: pb.AlarmRequest, ctx: CallContext) -> pb.AlarmResponse:
        # Every action goes through raft, GET included, as in etcd.
        return await self._server.propose(InternalRaftRequest(alarm=request))

    async def hash_kv(self, request: pb.HashKVRequest, ctx: CallContext) -> pb.HashKVResponse:
        store = self._server.store
        compact_rev = store.compact_revision
        # As etcd: a revision asked for must lie above the compaction, 0 means now (and
        # a negative one hashes no version at all).
        if 0 < request.revision <= compact_rev:
            raise errors.COMPACTED
        rev = request.revision or store.current_revision
        if rev > store.current_revision:
            raise errors.FUTURE_REV
        header = self._server.header()
        keep = store.index.keep(rev)
        # The read snapshot opens before any other request runs: it matches ``keep``.
        value = await offloop.read(
            self._server.backend, lambda txn: hash_kv(txn, rev, compact_rev, keep)
        )
        return pb.HashKVResponse(header=header, hash=value, compact_revision=compact_rev)

    async def snapshot(
        self, request: pb.SnapshotRequest, ctx: CallContext
    ) -> AsyncIterator[pb.SnapshotResponse]:
        backend = self._server.backend
        spool_dir = self._server.cfg.data_dir

        def frames(txn: ReadTxn) -> Iterator[tuple[bytes, int]]:
            return snapshot_file.frames(txn, spool_dir)

        # The file is written from one read snapshot on a worker thread, into a spool
        # file beside the data, and sent from there: the loop only sends messages, and
        # the store is never held in memory whole. etcd's snapshot messages carry no
        # header.
        async for batch in offloop.batches(backend, frames, _FRAMES_PER_BATCH):
            for blob, remaining in batch:
                yield pb.SnapshotResponse(remaining_bytes=remaining, blob=blob)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("defragmentation failed: %s", error)


# What etcd 3.5's Hash leaves out: the applied index and term, which move with
# requests that change no data.
_HASH_IGNORES = {(schema.META, schema.META_CONSISTENT_INDEX), (schema.META, schema.META_TERM)}


def _hash(txn: ReadTxn) -> int:
    """etcd's Hash: CRC-32C of every bucket's name, keys and values, buckets by name."""
    crc = 0
    for bucket in sorted(schema.ALL_BUCKETS, key=str.encode):
        crc = crc32c(bucket.encode(), crc)
        for key, value in txn.range(bucket, b""):
            if (bucket, key) not in _HASH_IGNORES:
                crc = crc32c(value, crc32c(key, crc))
    return crc
