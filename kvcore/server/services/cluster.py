"""etcdserverpb.Cluster."""

from __future__ import annotations

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.membership import Membership
from kvcore.transport import CallContext


class ClusterService:
    def __init__(self, server: EtcdServer, membership: Membership) -> None:
        self._server = server
        self._membership = membership

    async def member_list(
        self, request: pb.MemberListRequest, ctx: CallContext
    ) -> pb.MemberListResponse:
        if request.linearizable:
            await self._server.linearizable_read()
        return pb.MemberListResponse(
            header=self._server.header(revision=0),
            members=[m.to_pb() for m in self._membership.members()],
        )
