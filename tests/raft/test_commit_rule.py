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
            n: RawNode(
                Config(id=n, storage=s, pre_vote=False, check_quorum=False, max_size_per_msg=1)
            )
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

    def settle(self, pick) -> None:  # type: ignore[no-untyped-def]
        for _ in range(20):
            self.deliver(pick)
            if not self.outbox:
                return

    def commit(self, n: int) -> int:
        return self.node[n].status().hard_state.commit


def test_leader_does_not_commit_earlier_term_entry_by_counting_replicas() -> None:
    h = Hand()
    h.node[1].campaign()
    h.settle(lambda m: True)
    assert h.node[1].role == Role.LEADER
    base = h.commit(1)
    old_term = h.node[1].term

    h.node[1].propose(b"x")  # index base+1 of old_term, stays on node 1 only
    h.deliver(lambda m: False)

    # Node 2 wins with node 3's vote; its own entry at base+1 never leaves it.
    votes = (MessageType.VOTE, MessageType.VOTE_RESP)
    h.node[2].campaign()
    h.settle(lambda m: m.type in votes and 1 not in (m.frm, m.to))
    assert h.node[2].role == Role.LEADER
    h.deliver(lambda m: False)
    h.node[2].tick()  # a heartbeat tells node 1 about the new term
    h.deliver(lambda m: m.type == MessageType.HEARTBEAT and m.to == 1)
    assert h.node[1].role == Role.FOLLOWER

    # Node 1, cut off from node 2, times out and wins a later term with node 3's vote:
    # its last entry (base+1, old_term) beats node 3's.
    for _ in range(100):
        if h.node[1].role == Role.LEADER:
            break
        h.node[1].tick()
        h.deliver(lambda m: m.type in votes and 2 not in (m.frm, m.to))
    assert h.node[1].role == Role.LEADER and h.node[1].term > old_term + 1

    def old_entries_only(m: Message) -> bool:
        if 2 in (m.frm, m.to):
            return False
        if m.type != MessageType.APP or m.index > h.storage[3].last_index():
            return True  # not an append, or one node 3 will reject (it lacks m.index)
        return all(e.term == old_term for e in m.entries)

    h.settle(old_entries_only)
    assert h.storage[3].last_index() == base + 1  # old entry is now on nodes 1 and 3
    assert h.commit(1) == base  # ...a majority, but of an old term: not committed

    h.node[1].tick()  # a heartbeat round makes the leader resend the dropped append
    h.settle(lambda m: 2 not in (m.frm, m.to))
    assert h.commit(1) == base + 2
