"""Step function of a candidate and a pre-candidate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvcore.raft import follower
from kvcore.raft.errors import ProposalDroppedError
from kvcore.raft.messages import LEADER_TYPES, CampaignType, Message, MessageType
from kvcore.raft.quorum import VoteResult
from kvcore.raft.status import Role
from kvcore.raft.types import NONE

if TYPE_CHECKING:
    from kvcore.raft.raft import Raft

MT = MessageType


def step_candidate(r: Raft, m: Message) -> None:
    pre = r.role == Role.PRE_CANDIDATE
    my_vote_resp = MT.PRE_VOTE_RESP if pre else MT.VOTE_RESP
    t = m.type
    if t == MT.PROP:
        raise ProposalDroppedError("no leader: election in progress")
    if t in LEADER_TYPES:
        # A leader exists for this term (or a later one, handled by the term check).
        r.become_follower(m.term, m.frm)
        follower.step_follower(r, m)
    elif t == my_vote_resp:
        r.tracker.record_vote(m.frm, not m.reject)
        result = r.tracker.tally()
        if result == VoteResult.WON:
            if pre:
                r.campaign(CampaignType.ELECTION)
            else:
                r.win_election()
        elif result == VoteResult.LOST:
            # A pre-candidate returns to following at its old term: nobody was disturbed.
            r.become_follower(r.term, NONE)
