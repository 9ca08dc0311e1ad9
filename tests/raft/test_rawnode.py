"""RawNode driven by hand: one member, its Ready contract, and restarts."""

from __future__ import annotations

import random

import pytest

from kvcore.raft.bootstrap import bootstrap
from kvcore.raft.codec import decode_conf_change
from kvcore.raft.errors import StepLocalMessageError
from kvcore.raft.messages import Message, MessageType
from kvcore.raft.rawnode import Config, RawNode, Ready
from kvcore.raft.status import Role
from kvcore.raft.storage import MemoryStorage
from kvcore.raft.types import ConfChange, ConfChangeType, EntryType


def persist(s: MemoryStorage, rd: Ready) -> None:
    if rd.snapshot is not None:
        s.apply_snapshot(rd.snapshot)
    s.append(rd.entries)
    if rd.hard_state is not None:
        s.set_hard_state(rd.hard_state)


def drain(node: RawNode, s: MemoryStorage) -> None:
    while node.has_ready():
        rd = node.ready()
        persist(s, rd)
        node.advance(rd)


def single(election_tick: int = 10) -> tuple[RawNode, MemoryStorage]:
    s = MemoryStorage()
    bootstrap(s, [1])
    return RawNode(Config(id=1, storage=s, election_tick=election_tick)), s


def test_single_voter_elects_itself_on_first_timeout() -> None:
    node, s = single()
    for _ in range(2 * 10):  # the randomized timeout is below 2 * election_tick
        node.tick()
        if node.role == Role.LEADER:
            break
    assert node.role == Role.LEADER and node.leader_id == 1
    rd = node.ready()
    assert rd.soft_state is not None and rd.soft_state.role == Role.LEADER
    assert rd.messages == []
    # Alone, it commits the empty entry of its new term in the Ready that persists it
    # (and that is applied only once persisted).
    assert [(e.index, e.data) for e in rd.entries] == [(2, b"")]
    assert [e.index for e in rd.committed_entries] == [2]
    assert rd.hard_state is not None and rd.hard_state.commit == 2
    # Its new term and vote are not durable yet: nothing may go out first.
    assert rd.must_sync and not rd.send_first
    persist(s, rd)
    node.advance(rd)
    assert not node.has_ready()


def test_single_voter_commits_batched_proposals_without_messages() -> None:
    node, s = single()
    node.campaign()
    drain(node, s)
    assert not node.has_ready()
    for i in range(5):
        node.propose(b"p%d" % i)
    rd = node.ready()
    assert [e.data for e in rd.entries] == [b"p%d" % i for i in range(5)]
    # The first commits at once (nothing else awaits the disk); the others as soon as
    # the Ready that holds them all is persisted.
    assert rd.committed_entries == rd.entries[:1] and rd.messages == []
    assert rd.hard_state is not None and rd.hard_state.commit == 3
    persist(s, rd)
    node.advance(rd)
    committed = node.ready()
    assert committed.committed_entries == rd.entries[1:]
    assert committed.hard_state is not None and committed.hard_state.commit == 7
    persist(s, committed)
    node.advance(committed)
    assert node.status().applied == 7
    assert not node.has_ready()


def test_restart_resumes_from_storage() -> None:
    node, s = single()
    node.campaign()
    for _ in range(3):
        node.propose(b"x")
        drain(node, s)
    term = node.term
    again = RawNode(Config(id=1, storage=s, applied=3))
    st = again.status()
    assert st.hard_state.term == term and st.hard_state.commit == 5 and st.applied == 3
    rd = again.ready()
    assert [e.index for e in rd.committed_entries] == [4, 5]  # not yet applied
    assert rd.entries == []  # all durable already


def test_followers_send_votes_only_after_persisting() -> None:
    # The vote's hard state and the vote response come out of the same Ready; the
    # Ready contract orders them: persist hard_state, then send messages.
    s = MemoryStorage()
    bootstrap(s, [1, 2, 3])
    node = RawNode(Config(id=2, storage=s, pre_vote=False))
    node.step(Message(MessageType.VOTE, to=2, frm=1, term=2, index=3, log_term=1))
    rd = node.ready()
    assert rd.hard_state is not None and rd.hard_state.vote == 1 and rd.must_sync
    assert [m.type for m in rd.messages] == [MessageType.VOTE_RESP]
    assert not rd.messages[0].reject


def test_election_timeout_is_randomized_by_the_injected_rng() -> None:
    def timeout(seed: int) -> int:
        s = MemoryStorage()
        bootstrap(s, [1, 2, 3])
        n = RawNode(Config(id=1, storage=s, rng=random.Random(seed), pre_vote=False))
        for t in range(1, 40):
            n.tick()
            if n.role == Role.CANDIDATE:
                return t
        raise AssertionError("never campaigned")

    seen = {timeout(seed) for seed in range(40)}
    assert min(seen) >= 10 and max(seen) < 20 and len(seen) > 3
    assert timeout(5) == timeout(5)


def test_local_messages_are_refused_from_the_network() -> None:
    node, _ = single()
    with pytest.raises(StepLocalMessageError):
        node.step(Message(MessageType.HUP, frm=1))


def test_single_voter_counts_its_fsync_while_a_conf_change_is_pending() -> None:
    """A pending change may add a peer before later entries are persisted: appended
    then, they must not commit before the fsync, or the new peer could hear of it
    first (and keep an entry a crash takes from the leader)."""
    node, s = single()
    node.campaign()
    drain(node, s)
    node.propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER_NODE, 2))
    node.propose(b"after")
    rd = node.ready()
    assert [e.index for e in rd.entries] == [3, 4]
    assert rd.committed_entries == []
    persist(s, rd)
    node.advance(rd)
    assert [e.index for e in node.ready().committed_entries] == [3, 4]


def test_conf_change_entry_type_and_status() -> None:
    node, s = single()
    node.campaign()
    drain(node, s)
    cc = ConfChange(ConfChangeType.ADD_LEARNER_NODE, 2)
    node.propose_conf_change(cc)
    rd = node.ready()
    persist(s, rd)
    node.advance(rd)
    rd = node.ready()
    (e,) = rd.committed_entries
    assert e.type == EntryType.CONF_CHANGE and decode_conf_change(e.data) == cc
    cs = node.apply_conf_change(cc)
    persist(s, rd)
    node.advance(rd)
    assert cs.voters == [1] and cs.learners == [2]
    st = node.status()
    assert st.learners == [2] and sorted(st.progress) == [1, 2]
    assert st.progress[2].is_learner
