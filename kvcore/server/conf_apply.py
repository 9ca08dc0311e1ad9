"""Applying membership changes: raft conf changes and kvcore's member requests.

A conf change's context carries the member being added (JSON), as etcd's does. Every
member applies every committed change the same way; a change that is invalid by the
time it commits (the member was removed meanwhile, ...) is applied to raft as a no-op
and fails the request that proposed it, as etcd does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import MemberAttributes
from kvcore.backend import WriteTxn
from kvcore.raft.types import ConfChange, ConfChangeType
from kvcore.server.membership import Member, Membership

# etcd allows one learner at a time (--max-learners defaults to 1).
MAX_LEARNERS = 1


@dataclass(slots=True, frozen=True)
class ChangeContext:
    """What a proposer puts in a ConfChange's context."""

    request_id: int
    member: Member | None = None  # the member added (ADD_NODE, ADD_LEARNER_NODE)
    promote: bool = False  # ADD_NODE of an existing learner

    def encode(self) -> bytes:
        return json.dumps(
            {
                "request_id": self.request_id,
                "member": self.member.to_json() if self.member else None,
                "promote": self.promote,
            }
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> ChangeContext:
        raw = json.loads(data) if data else {}
        member = raw.get("member")
        return cls(
            request_id=raw.get("request_id", 0),
            member=Member.from_json(member) if member else None,
            promote=raw.get("promote", False),
        )


def check_conf_change(members: Membership, cc: ConfChange, ctx: ChangeContext) -> None:
    """Raise etcd's error if ``cc`` cannot be applied to the current members."""
    if members.is_removed(cc.node_id):
        raise errors.MEMBER_NOT_FOUND  # etcd's ErrIDRemoved, answered as not found
    existing = members.get(cc.node_id)
    if cc.type == ConfChangeType.REMOVE_NODE:
        if existing is None:
            raise errors.MEMBER_NOT_FOUND
        return
    if ctx.promote:
        if existing is None:
            raise errors.MEMBER_NOT_FOUND
        if not existing.is_learner:
            raise errors.MEMBER_NOT_LEARNER
        return
    if ctx.member is None:
        raise errors.MEMBER_BAD_URLS
    check_add(members, ctx.member)


def check_add(members: Membership, member: Member) -> None:
    """Raise etcd's error if ``member`` cannot be added: its id was removed or is taken
    (the same peer URLs added again within the same second), its URLs are, or the
    learners' one place is."""
    if members.is_removed(member.id):
        raise errors.MEMBER_NOT_FOUND
    if members.get(member.id) is not None:
        raise errors.MEMBER_EXIST
    if members.with_peer_url(member.peer_urls) is not None:
        raise errors.PEER_URL_EXIST
    if member.is_learner and sum(m.is_learner for m in members.members()) >= MAX_LEARNERS:
        raise errors.TOO_MANY_LEARNERS


def apply_conf_change(
    txn: WriteTxn, members: Membership, cc: ConfChange, ctx: ChangeContext
) -> None:
    """Change the member table as an already checked ``cc`` says."""
    if cc.type == ConfChangeType.REMOVE_NODE:
        members.remove(txn, cc.node_id)
    elif ctx.promote:
        members.update(txn, replace(members.get(cc.node_id), is_learner=False))
    else:
        members.add(txn, ctx.member)


def apply_member_update(txn: WriteTxn, members: Membership, req: pb.MemberUpdateRequest) -> None:
    member = members.get(req.ID)
    if member is None:
        raise errors.MEMBER_NOT_FOUND
    other = members.with_peer_url(list(req.peerURLs))
    if other is not None and other.id != req.ID:
        raise errors.PEER_URL_EXIST
    members.update(txn, replace(member, peer_urls=list(req.peerURLs)))


def apply_member_attributes(txn: WriteTxn, members: Membership, req: MemberAttributes) -> None:
    member = members.get(req.ID)
    if member is None:
        return  # removed before its announcement committed
    members.update(txn, replace(member, name=req.name, client_urls=list(req.client_urls)))
