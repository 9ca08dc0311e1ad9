"""etcdserverpb.Maintenance."""

from __future__ import annotations

from kvcore import ETCD_API_VERSION
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.membership import Membership
from kvcore.transport import CallContext


class MaintenanceService:
    def __init__(self, server: EtcdServer, membership: Membership) -> None:
        self._server = server
        self._membership = membership

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
            isLearner=self._membership.local.is_learner,
        )
