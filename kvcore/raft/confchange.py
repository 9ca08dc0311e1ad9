"""Membership changes one at a time: a pure function from configuration to configuration.

A single change moves at most one voter, so any majority of the old voters overlaps any
majority of the new ones and no joint consensus is needed.
"""

from __future__ import annotations

from kvcore.raft.types import ConfChange, ConfChangeType, ConfState


def apply_change(cs: ConfState, cc: ConfChange) -> ConfState:
    """The configuration after cc. Changes that would make no sense (remove the last
    voter) leave the configuration unchanged: every member applies the same committed
    entry, so the outcome must be a deterministic function of the inputs, not an error.
    """
    voters = set(cs.voters)
    learners = set(cs.learners)
    nid = cc.node_id
    if nid == 0:
        return ConfState(sorted(voters), sorted(learners))
    if cc.type == ConfChangeType.ADD_NODE:
        learners.discard(nid)  # adding a learner as a voter promotes it
        voters.add(nid)
    elif cc.type == ConfChangeType.ADD_LEARNER_NODE:
        if nid in voters and len(voters) == 1:
            return ConfState(sorted(voters), sorted(learners))
        voters.discard(nid)  # demotion: one voter leaves the majority
        learners.add(nid)
    elif cc.type == ConfChangeType.REMOVE_NODE:
        if voters == {nid}:
            return ConfState(sorted(voters), sorted(learners))
        voters.discard(nid)
        learners.discard(nid)
    return ConfState(sorted(voters), sorted(learners))
