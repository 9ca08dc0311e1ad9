"""Promoting a learner to a voter: a call only the leader can judge, since only it
tracks how far the learner's log has come (etcd's isLearnerReady). A member that does
not lead forwards the request to the leader, as etcd does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.raft.types import ConfChangeType
from kvcore.server.on_leader import on_leader

if TYPE_CHECKING:
    from kvcore.server.etcdserver import EtcdServer

# A learner is promoted only once its log is within this share of the leader's.
LEARNER_READY_SHARE = 0.9


async def promote(server: EtcdServer, request: pb.MemberPromoteRequest) -> None:
    """Promote, from whichever member the request came to."""
    await on_leader(
        server,
        lambda: promote_here(server, request.ID),
        lambda peers, leader, left: peers.member_promote(leader, request, left),
    )


async def promote_here(server: EtcdServer, member_id: int) -> pb.MemberPromoteResponse:
    """Promote on this member, the leader: NOT_LEADER if it is not."""
    if not server.is_leader:
        raise errors.NOT_LEADER
    # etcd's order: how far the member's log is (of any member raft tracks, learner
    # or not), the started members, and only then what the member is.
    _check_caught_up(server, member_id)
    if not server.membership.ready_to_promote():
        raise errors.MEMBER_NOT_ENOUGH_STARTED
    member = server.membership.get(member_id)
    if member is None:
        raise errors.MEMBER_NOT_FOUND
    if not member.is_learner:
        raise errors.MEMBER_NOT_LEARNER
    await server.propose_conf_change(ConfChangeType.ADD_NODE, member_id, promote=True)
    members = [m.to_pb() for m in server.membership.members()]
    return pb.MemberPromoteResponse(header=server.header(revision=0), members=members)


def _check_caught_up(server: EtcdServer, learner_id: int) -> None:
    progress = server.driver.node.status().progress
    leader = progress.get(server.identity.member_id)
    learner = progress.get(learner_id)
    if leader is None or learner is None:
        return
    if learner.match < leader.match * LEARNER_READY_SHARE:
        raise errors.LEARNER_NOT_READY
