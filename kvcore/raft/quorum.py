"""Majority arithmetic over a set of voters: pure functions, no raft state."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping


class VoteResult(enum.Enum):
    PENDING = 0  # not decided: missing votes could still swing it
    LOST = 1
    WON = 2


def majority(voters: int) -> int:
    """How many of ``voters`` make a quorum."""
    return voters // 2 + 1


def committed_index(voters: Collection[int], match: Mapping[int, int]) -> int:
    """The highest index that a majority of voters have (a voter missing from match
    has nothing). An empty voter set commits nothing."""
    if not voters:
        return 0
    acked = sorted((match.get(v, 0) for v in voters), reverse=True)
    # The (n//2 + 1)-th highest value is held by a majority.
    return acked[len(acked) // 2]


def vote_result(voters: Collection[int], votes: Mapping[int, bool]) -> VoteResult:
    """WON once a majority granted, LOST once a majority is out of reach."""
    if not voters:
        return VoteResult.WON  # by convention, as in etcd: nothing to ask
    granted = rejected = 0
    for v in voters:
        vote = votes.get(v)
        if vote is True:
            granted += 1
        elif vote is False:
            rejected += 1
    quorum = majority(len(voters))
    if granted >= quorum:
        return VoteResult.WON
    if len(voters) - rejected >= quorum:
        return VoteResult.PENDING
    return VoteResult.LOST
