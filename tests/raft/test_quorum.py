"""quorum.py against brute-force references: hypothesis for edge cases and shrinking,
plus a plain seeded loop for volume (hypothesis is slow per example)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from kvcore.raft.quorum import VoteResult, committed_index, vote_result

voter_sets = st.sets(st.integers(1, 9), min_size=1, max_size=7)


def ref_committed(voters: set[int], match: dict[int, int]) -> int:
    """Largest index held by a majority, by trying every candidate index."""
    best = 0
    for idx in {0, *match.values()}:
        holders = sum(1 for v in voters if match.get(v, 0) >= idx)
        if holders * 2 > len(voters):
            best = max(best, idx)
    return best


def ref_vote(voters: set[int], votes: dict[int, bool]) -> VoteResult:
    yes = sum(1 for v in voters if votes.get(v) is True)
    no = sum(1 for v in voters if votes.get(v) is False)
    if yes * 2 > len(voters):
        return VoteResult.WON
    if (len(voters) - no) * 2 > len(voters):
        return VoteResult.PENDING
    return VoteResult.LOST


@settings(max_examples=150, deadline=None)
@given(voters=voter_sets, match=st.dictionaries(st.integers(1, 12), st.integers(0, 30)))
def test_committed_index_matches_reference(voters: set[int], match: dict[int, int]) -> None:
    assert committed_index(voters, match) == ref_committed(voters, match)


@settings(max_examples=150, deadline=None)
@given(voters=voter_sets, votes=st.dictionaries(st.integers(1, 12), st.booleans()))
def test_vote_result_matches_reference(voters: set[int], votes: dict[int, bool]) -> None:
    assert vote_result(voters, votes) == ref_vote(voters, votes)


def test_many_random_cases_match_reference() -> None:
    rng = random.Random(20240601)
    for _ in range(20000):
        voters = set(rng.sample(range(1, 10), rng.randint(1, 7)))
        members = range(1, 12)
        match = {m: rng.randint(0, 20) for m in members if rng.random() < 0.8}
        votes = {m: rng.random() < 0.5 for m in members if rng.random() < 0.6}
        assert committed_index(voters, match) == ref_committed(voters, match)
        assert vote_result(voters, votes) == ref_vote(voters, votes)


def test_edges() -> None:
    assert committed_index([], {1: 5}) == 0
    assert vote_result([], {}) == VoteResult.WON
    assert committed_index([1], {1: 7}) == 7
    assert committed_index([1, 2], {1: 7, 2: 3}) == 3  # two voters need both
    assert vote_result([1, 2, 3, 4], {1: True, 2: True}) == VoteResult.PENDING
    assert vote_result([1, 2, 3, 4], {1: False, 2: False}) == VoteResult.LOST
