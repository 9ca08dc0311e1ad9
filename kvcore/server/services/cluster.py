"""etcdserverpb.Cluster: the member list, and membership changes through raft."""

from __future__ import annotations

import time

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import InternalRaftRequest
from kvcore.raft.types import ConfChangeType
from kvcore.server import conf_apply, ids, peer_health, promotion
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.membership import Member, parse_peer_urls
from kvcore.transport import CallContext


class ClusterService:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    def _members(self) -> list[pb.Member]:
        return [m.to_pb() for m in self._server.membership.members()]

    def _header(self) -> pb.ResponseHeader:
        return self._server.header(revision=0)

    async def member_list(
        self, request: pb.MemberListRequest, ctx: CallContext
    ) -> pb.MemberListResponse:
        if request.linearizable:
            await self._server.linearizable_read()
        return pb.MemberListResponse(header=self._header(), members=self._members())

    async def member_add(
        self, request: pb.MemberAddRequest, ctx: CallContext
    ) -> pb.MemberAddResponse:
        urls = parse_peer_urls(request.peerURLs)
        table = self._server.membership
        if not request.isLearner and not table.ready_to_add_voter():
            raise errors.MEMBER_NOT_ENOUGH_STARTED
        peer_health.check_add(table, self._server.peers)
        # As etcd's: the URLs and the time, no cluster token (a re-added member gets a
        # new id, unless within the same second: then its old one, refused as removed).
        member_id = ids.member_id(urls, "", now=int(time.time()))
        member = Member(member_id, "", urls, is_learner=request.isLearner)
        conf_apply.check_add(table, member)  # as the change would be checked when applied
        kind = ConfChangeType.ADD_LEARNER_NODE if request.isLearner else ConfChangeType.ADD_NODE
        await self._server.propose_conf_change(kind, member_id, member=member)
        return pb.MemberAddResponse(
            header=self._header(), member=member.to_pb(), members=self._members()
        )

    async def member_remove(
        self, request: pb.MemberRemoveRequest, ctx: CallContext
    ) -> pb.MemberRemoveResponse:
        table = self._server.membership
        member = table.get(request.ID)
        learner = member is not None and member.is_learner
        if not learner and not table.ready_to_remove_voter(request.ID):
            raise errors.MEMBER_NOT_ENOUGH_STARTED
        if not learner:
            peer_health.check_remove_voter(table, self._server.peers, request.ID)
        # An unknown id fails when the change applies, as in etcd: without a quorum,
        # it times out like any change.
        await self._server.propose_conf_change(ConfChangeType.REMOVE_NODE, request.ID)
        return pb.MemberRemoveResponse(header=self._header(), members=self._members())

    async def member_update(
        self, request: pb.MemberUpdateRequest, ctx: CallContext
    ) -> pb.MemberUpdateResponse:
        # etcd takes any strings here (and its transport then fails on a peer's bad
        # URL); kvcore checks them as for an added member.
        parse_peer_urls(request.peerURLs)
        await self._server.propose(InternalRaftRequest(member_update=request))
        return pb.MemberUpdateResponse(header=self._header(), members=self._members())

    async def member_promote(
        self, request: pb.MemberPromoteRequest, ctx: CallContext
    ) -> pb.MemberPromoteResponse:
        # Judged by the leader alone, as in etcd: a member that does not lead asks it.
        await promotion.promote(self._server, request)
        return pb.MemberPromoteResponse(header=self._header(), members=self._members())
