"""etcdserverpb.Maintenance."""

from __future__ import annotations

import asyncio

from kvcore import ETCD_API_VERSION, errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
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
