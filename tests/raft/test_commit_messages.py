"""How a leader tells followers the commit index, message by message, on three RawNodes
wired by hand."""

from __future__ import annotations

from kvcore.raft.bootstrap import bootstrap
from kvcore.raft.messages import Message, MessageType
from kvcore.raft.rawnode import Config, RawNode
from kvcore.raft.storage import MemoryStorage
from kvcore.raft.types import ConfChange, ConfChangeType, EntryType

from .test_rawnode import persist

MT = MessageType


class Trio:
    def __init__(self) -> None:
        self.nodes: dict[int, tuple[RawNode, MemoryStorage]] = {}
        for i in (1, 2, 3):
            s = MemoryStorage()
            bootstrap(s, [1, 2, 3])
            self.nodes[i] = (RawNode(Config(id=i, storage=s, election_tick=10)), s)

    def node(self, i: int) -> RawNode:
        return self.nodes[i][0]

    def out(self, i: int) -> list[Message]:
        """Everything member i has to send once its Readys are handled."""
        node, s = self.nodes[i]
        sent: list[Message] = []
        while node.has_ready():
            rd = node.ready()
            persist(s, rd)
            sent += rd.messages
            node.advance(rd)
        return sent

    def deliver(self, messages: list[Message]) -> None:
        for m in messages:
            self.node(m.to).step(m)

    def settle(self) -> None:
        while pending := [m for i in self.nodes for m in self.out(i)]:
            self.deliver(pending)


def test_a_follower_owing_an_answer_hears_the_commit_after_answering() -> None:
    t = Trio()
    t.node(1).campaign()
    t.settle()
    t.node(1).propose(b"x")
    appends = t.out(1)
    assert sorted((m.type, m.to) for m in appends) == [(MT.APP, 2), (MT.APP, 3)]
    index = appends[0].entries[0].index
    t.deliver(appends)
    [answer2] = t.out(2)
    [answer3] = t.out(3)

    t.deliver([answer2])  # a quorum: index commits
    told = t.out(1)
    assert t.node(1).status().hard_state.commit == index
    # Member 2 holds everything: the commit alone. Member 3 still owes its answer to
    # the append in flight: no empty append for it (it would answer that one too).
    assert [(m.type, m.to, m.commit) for m in told] == [(MT.COMMIT, 2, index)]

    t.deliver([answer3])
    assert [(m.type, m.to, m.commit) for m in t.out(1)] == [(MT.COMMIT, 3, index)]
    # A COMMIT is not answered.
    t.deliver(told)
    assert t.out(2) == []


def test_a_commit_goes_out_once() -> None:
    t = Trio()
    t.node(1).campaign()
    t.settle()
    t.node(1).propose(b"x")
    t.settle()
    t.node(1).tick()  # nothing new: no message but heartbeats, ever
    assert {m.type for m in t.out(1)} <= {MT.HEARTBEAT}


def test_the_follower_that_forwarded_a_proposal_hears_the_commit_in_an_append() -> None:
    """A COMMIT may be held back by the driver; the follower whose client waits on the
    proposal it forwarded hears the commit at once, in an (empty) append."""
    t = Trio()
    t.node(1).campaign()
    t.settle()
    t.node(2).propose(b"x")
    t.deliver(t.out(2))  # forwarded to the leader
    appends = t.out(1)
    index = appends[0].entries[0].index
    t.deliver(appends)
    answers = t.out(2) + t.out(3)
    t.deliver(answers)
    told = {m.to: m for m in t.out(1)}
    assert t.node(1).status().hard_state.commit == index
    assert (told[2].type, told[2].entries, told[2].commit) == (MT.APP, [], index)
    assert (told[3].type, told[3].commit) == (MT.COMMIT, index)


def test_a_member_being_removed_hears_its_removal_commit_before_answering() -> None:
    """Once the leader applies a removal it no longer hears the removed member's
    answers, so the commit cannot wait for them: the member must learn it, apply its
    own removal and stop (and answer the client that asked it to remove itself)."""
    t = Trio()
    t.node(1).campaign()
    t.settle()
    t.node(1).propose_conf_change(ConfChange(ConfChangeType.REMOVE_NODE, 3))
    appends = t.out(1)
    index = appends[0].entries[0].index
    t.deliver(appends)
    [answer2] = t.out(2)
    t.deliver([answer2])  # a quorum without member 3: the removal commits
    told = {m.to: m for m in t.out(1)}
    assert (told[3].type, told[3].entries, told[3].commit) == (MT.APP, [], index)
    t.deliver([told[3]])  # before member 3 answered the append that carried it
    rd = t.node(3).ready()
    assert [e.type for e in rd.committed_entries][-1:] == [EntryType.CONF_CHANGE]
    assert rd.committed_entries[-1].index == index
