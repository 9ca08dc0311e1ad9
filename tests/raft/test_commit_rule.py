"""Raft §5.4.2 (the "figure 8" hazard): a leader never counts replicas to commit an
entry from an earlier term; only an entry of its own term commits what precedes it.
Driven message by message over three RawNodes."""

from __future__ import annotations

from kvcore.raft.bootstrap import bootstrap
from kvcore.raft.messages import Message, MessageType
from kvcore.raft.rawnode import Config, RawNode
from kvcore.raft.status import Role
from kvcore.raft.storage import MemoryStorage


class Hand:
    """Three members whose messages are delivered only when the test says so."""

    def __init__(self) -> None:
        self.storage = {n: MemoryStorage() for n in (1, 2, 3)}
        for s in self.storage.values():
            bootstrap(s, [1, 2, 3])
        self.node = {
            n: RawNode(Config(id=n, storage=s, pre_vote=False, max_size_per_msg=1))
            for n, s in self.storage.items()
        }
        self.outbox: list[Message] = []

    def drain(self) -> None:
        for n, node in self.node.items():
            while node.has_ready():
                rd = node.ready()
                s = self.storage[n]
                s.append(rd.entries)
                if rd.hard_state is not None:
                    s.set_hard_state(rd.hard_state)
                self.outbox.extend(rd.messages)
                node.advance(rd)

    def deliver(self, pick) -> None:  # type: ignore[no-untyped-def]
        """Deliver the outbox messages pick() accepts, once; drop the rest."""
        self.drain()
        msgs, self.outbox = self.outbox, []
        for m in msgs:
            if pick(m):
                self.node[m.to].step(m)
        self.drain()

    def commit(self, n: int) -> int:
        return self.node[n].status().hard_state.commit


def test_leader_does_not_commit_earlier_term_entry_by_counting_replicas() -> None:
    h = Hand()
    h.node[1].campaign()
    h.deliver(lambda m: True)  # votes
    assert h.node[1].role == Role.LEADER
    h.deliver(lambda m: True)  # empty entry of term 2 out and acked
    h.deliver(lambda m: True)
    base = h.commit(1)
    term1 = h.node[1].term

    h.node[1].propose(b"x")  # index base+1, stays on node 1 only
    h.deliver(lambda m: False)

    h.node[2].campaign()  # node 2 wins with node 3's vote, writes its entry only locally
    h.deliver(lambda m: m.to != 1)
    assert h.node[2].role == Role.LEADER
    h.deliver(lambda m: False)

    # Node 1 wins again (its last entry's term beats node 3's) and replicates its old
    # entry to node 3 one entry per message; the ack of that entry alone must not commit.
    for _ in range(3):
        h.node[1].tick()  # nothing from node 2 reaches anyone
    h.node[1].campaign()
    h.deliver(lambda m: m.frm != 2 and m.to != 2)
    assert h.node[1].role == Role.LEADER and h.node[1].term > term1

    def old_entry_only(m: Message) -> bool:
        if m.frm == 2 or m.to == 2:
            return False
        if m.type == MessageType.APP and m.entries:
            return m.entries[0].term == term1  # the term-2 entry, not the new one
        return m.type != MessageType.APP

    for _ in range(4):
        h.deliver(old_entry_only)
    st = h.node[3].status()
    assert h.storage[3].last_index() == base + 1 and st.hard_state.term == h.node[1].term
    assert h.commit(1) == base  # index base+1 is on a majority but from an old term

    h.deliver(lambda m: m.frm != 2 and m.to != 2)  # the new-term entry arrives
    h.deliver(lambda m: m.frm != 2 and m.to != 2)
    assert h.commit(1) == base + 2
