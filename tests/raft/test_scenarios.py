"""Scripted scenarios on a quiet simulated cluster (no random faults), checking one
behaviour each; the Checker still verifies every safety invariant along the way."""

from __future__ import annotations

import pytest

from kvcore.raft.errors import ProposalDroppedError
from kvcore.raft.status import Role
from kvcore.raft.types import ConfChange, ConfChangeType

from .sim import Cluster, SimOptions


def quiet(voters: int = 3, spares: int = 0, **kw: object) -> Cluster:
    return Cluster(7, SimOptions.quiet(voters=voters, spares=spares, **kw), faults=False)


def commit_value(c: Cluster, via: int, value: bytes, ids: list[int] | None = None) -> None:
    assert c.propose(via, value) == value
    c.run_until(lambda: c.applied_everywhere(value, ids), max_ticks=30)


def test_election_replication_and_commit() -> None:
    c = quiet()
    c.elect(1)
    commit_value(c, 1, b"a")
    commit_value(c, 3, b"b")  # proposed on a follower: forwarded to the leader
    terms = {c.raw(n).term for n in c.nodes}
    assert len(terms) == 1
    assert {c.raw(n).leader_id for n in c.nodes} == {1}


def test_followers_elect_on_their_own() -> None:
    c = quiet(voters=5)
    c.run_until(lambda: c.leader() is not None, max_ticks=60)
    lead = c.leader()
    assert lead is not None
    commit_value(c, lead.id, b"x")


def test_check_quorum_isolated_leader_steps_down() -> None:
    c = quiet()
    c.elect(1)
    c.isolate(1)
    # Within about one election timeout it notices it lost its quorum.
    c.run_until(lambda: c.raw(1).role != Role.LEADER, max_ticks=2 * c.opts.election_tick + 2)
    c.run_until(lambda: c.is_leader(2) or c.is_leader(3), max_ticks=60)
    c.heal()
    lead = c.leader()
    assert lead is not None
    commit_value(c, lead.id, b"after")
    assert c.raw(1).leader_id == lead.id


def test_rejoining_node_with_pre_vote_does_not_disrupt() -> None:
    c = quiet()
    c.elect(1)
    term = c.raw(1).term
    c.isolate(3)
    c.ticks(10 * c.opts.election_tick)  # node 3 keeps timing out, alone
    assert c.raw(3).term == term  # pre-vote kept it from bumping its term
    c.heal()
    c.ticks(3 * c.opts.election_tick)
    assert c.is_leader(1) and c.raw(1).term == term
    commit_value(c, 3, b"still-led-by-1")


def test_rejoining_node_without_pre_vote_bumps_term() -> None:
    # The contrast case: without pre-vote the isolated node's term races ahead.
    c = quiet(pre_vote=False)
    c.elect(1)
    term = c.raw(1).term
    c.isolate(3)
    c.ticks(10 * c.opts.election_tick)
    assert c.raw(3).term > term


def test_read_index_on_leader_and_follower() -> None:
    c = quiet()
    c.elect(1)
    commit_value(c, 1, b"w1")
    for served, via in enumerate((1, 2), start=1):
        c.read(via)
        c.run_until(lambda n=served: c.check.reads_served == n, max_ticks=10)


def test_lease_based_read_needs_no_heartbeat_round() -> None:
    c = quiet(lease_reads=True)
    c.elect(1)
    commit_value(c, 1, b"w1")
    c.read(1)
    c.handle_ready(c.nodes[1])
    assert c.check.reads_served == 1


def test_read_index_waits_for_commit_in_new_term() -> None:
    c = quiet()
    c.raw(1).campaign()
    c.run_until(lambda: c.is_leader(1))
    # The leader's empty entry of its term is not committed yet: the read must wait.
    c.read(1)
    for n in c.live():
        c.handle_ready(n)
    assert c.check.reads_served == 0
    c.run_until(lambda: c.check.reads_served == 1, max_ticks=10)


def test_single_voter_reads_at_once() -> None:
    c = quiet(voters=1)
    c.elect(1)
    c.read(1)
    c.handle_ready(c.nodes[1])
    assert c.check.reads_served == 1


def test_lagging_follower_catches_up_by_snapshot() -> None:
    c = quiet()
    c.elect(1)
    c.crash(3)
    for i in range(20):
        c.propose(1, b"v%d" % i)
    c.run_until(lambda: c.applied_everywhere(b"v19"), max_ticks=30)
    c.compact(c.nodes[1], keep=0)
    c.compact(c.nodes[2], keep=0)
    c.start(3)
    c.run_until(lambda: c.applied_everywhere(b"v19"), max_ticks=40)
    assert c.stats["snapshot_restored"] >= 1
    commit_value(c, 3, b"after-snapshot")


def test_restart_everyone_from_storage() -> None:
    c = quiet()
    c.elect(1)
    commit_value(c, 1, b"durable")
    for nid in c.nodes:
        c.crash(nid)
    for nid in c.nodes:
        c.start(nid)
    c.run_until(lambda: c.leader() is not None, max_ticks=60)
    lead = c.leader()
    assert lead is not None
    commit_value(c, lead.id, b"post-restart")


def test_conf_change_learner_promote_remove() -> None:
    c = quiet(voters=3, spares=1)
    c.elect(1)
    raw = c.raw(1)
    raw.propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER_NODE, 4))
    c.run_until(lambda: 4 in c.raw(1).status().learners, max_ticks=20)
    commit_value(c, 1, b"learner-sees-this", ids=[1, 2, 3, 4])
    assert c.raw(4).status().learners == [4]  # it learned the config via snapshot + log
    # A learner neither campaigns nor counts toward the quorum.
    c.raw(4).campaign()
    c.ticks(3)
    assert c.raw(4).role == Role.FOLLOWER and c.is_leader(1)

    c.raw(1).propose_conf_change(ConfChange(ConfChangeType.ADD_NODE, 4))  # promote
    c.run_until(lambda: c.raw(1).status().voters == [1, 2, 3, 4], max_ticks=20)
    c.raw(1).propose_conf_change(ConfChange(ConfChangeType.REMOVE_NODE, 1))  # the leader
    c.run_until(lambda: c.raw(2).status().voters == [2, 3, 4], max_ticks=20)
    c.run_until(lambda: any(c.is_leader(n) for n in (2, 3, 4)), max_ticks=60)
    lead = c.leader()
    assert lead is not None and lead.id != 1
    commit_value(c, lead.id, b"without-1", ids=[2, 3, 4])


def test_one_conf_change_at_a_time() -> None:
    c = quiet(voters=3, spares=2)
    c.elect(1)
    c.raw(1).propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER_NODE, 4))
    with pytest.raises(ProposalDroppedError):
        c.raw(1).propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER_NODE, 5))


def test_leadership_transfer() -> None:
    c = quiet()
    c.elect(1)
    commit_value(c, 1, b"before")
    c.raw(1).transfer_leader(3)
    # Much faster than an election timeout: the transferee campaigns at once.
    c.run_until(lambda: c.is_leader(3), max_ticks=c.opts.election_tick - 1)
    commit_value(c, 3, b"after")


def test_proposals_dropped_while_transferring_or_leaderless() -> None:
    c = quiet()
    with pytest.raises(ProposalDroppedError):
        c.raw(2).propose(b"nobody-leads")
    c.elect(1)
    c.crash(3)
    c.raw(1).transfer_leader(3)  # cannot finish: 3 is down
    with pytest.raises(ProposalDroppedError):
        c.raw(1).propose(b"moving")
    c.ticks(2 * c.opts.election_tick)  # the transfer times out and is abandoned
    assert c.is_leader(1)
    commit_value(c, 1, b"ok-again", ids=[1, 2])


def test_transfer_requested_on_a_follower_is_forwarded() -> None:
    c = quiet()
    c.elect(1)
    commit_value(c, 1, b"x")
    c.raw(2).transfer_leader(3)
    c.run_until(lambda: c.is_leader(3), max_ticks=c.opts.election_tick - 1)
