"""A deterministic, seeded simulation of a raft cluster, for tests.

One random.Random(seed) drives everything: which node ticks, message delays, drops,
duplicates and reordering, partitions, crashes and restarts, client proposals and reads,
log compaction, leadership transfers and membership changes. Each node is a RawNode over
a MemoryStorage that receives exactly what Ready asks to persist; a crash throws away the
RawNode (and with it everything unpersisted) and a restart builds a new one from that
storage. Messages cross the network encoded with kvcore.raft.codec.

Time is counted in rounds; every node ticks once every ROUNDS_PER_TICK rounds. Each round
delivers due messages, injects events, drains every node's Ready, then lets the Checker
verify the safety invariants.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kvcore.raft.bootstrap import bootstrap
from kvcore.raft.codec import decode_conf_change, decode_message, encode_message
from kvcore.raft.errors import ProposalDroppedError
from kvcore.raft.messages import Message, MessageType
from kvcore.raft.rawnode import Config, RawNode, Ready
from kvcore.raft.status import Role
from kvcore.raft.storage import MemoryStorage
from kvcore.raft.types import ConfChange, ConfChangeType, ConfState, Entry, EntryType

ROUNDS_PER_TICK = 3


class InvariantError(AssertionError):
    pass


@dataclass
class SimOptions:
    voters: int = 3
    spares: int = 0  # nodes outside the initial configuration, for membership changes
    election_tick: int = 8
    max_inflight: int = 4
    max_size_per_msg: int = 128  # small, so flow control and batching get exercised
    pre_vote: bool = True
    check_quorum: bool = True
    lease_reads: bool = False
    # faults, per round
    drop: float = 0.05
    dup: float = 0.03
    max_delay: int = 4  # rounds; delays are 1..max_delay, skewed to short
    partition: float = 0.01
    heal: float = 0.03
    crash: float = 0.004
    # A leader's Ready whose appends go out before its own fsync (Ready.send_first)
    # keeps it busy for 1..fsync_rounds rounds, while it steps what arrives (acks of
    # those appends too); it may die before the fsync ends (crash_in_fsync).
    fsync_rounds: int = 3
    crash_in_fsync: float = 0.02
    restart: float = 0.05
    # client and operator activity, per round
    propose: float = 0.3
    read: float = 0.1
    compact: float = 0.03
    transfer: float = 0.0
    conf_change: float = 0.0
    wire_codec: bool = False  # encode every message (slower; exercises the codec)

    @classmethod
    def quiet(cls, **kw: object) -> SimOptions:
        """No faults and no background activity: for scripted scenarios."""
        rates = dict.fromkeys(
            [
                "drop",
                "dup",
                "partition",
                "heal",
                "crash",
                "crash_in_fsync",
                "restart",
                "propose",
                "read",
                "compact",
                "transfer",
                "conf_change",
            ],
            0.0,
        )
        return cls(**{**rates, **kw})  # type: ignore[arg-type]


@dataclass
class SimNode:
    id: int
    storage: MemoryStorage
    raw: RawNode | None = None
    digest: bytes = b""  # state machine: a hash chain over applied entries
    applied: int = 0
    conf_state: ConfState = field(default_factory=ConfState)
    last_commit: int = 0
    checked_commit: int = 0  # the highest commit index it was seen to hold
    # A send_first Ready whose fsync is still running, the round it ends in, and the
    # term it was taken in.
    syncing: tuple[Ready, int, int] | None = None


def chain(digest: bytes, e: Entry) -> bytes:
    h = hashlib.blake2b(digest, digest_size=16)
    h.update(bytes([e.type]))
    h.update(e.data)
    return h.digest()


def _copy(m: Message) -> Message:
    """What a network does to a message: the receiver gets its own object. Entries
    in APP are shared (logs never mutate them); proposals are stamped by the leader,
    so each delivered copy needs fresh ones."""
    ents = m.entries
    if m.type == MessageType.PROP:
        ents = [Entry(e.term, e.index, e.type, e.data) for e in ents]
    return Message(
        m.type,
        m.to,
        m.frm,
        m.term,
        m.log_term,
        m.index,
        list(ents),
        m.commit,
        m.reject,
        m.reject_hint,
        m.snapshot,
        m.context,
    )


class Checker:
    """Safety invariants over the whole history of one run."""

    def __init__(self) -> None:
        self.leaders: dict[int, int] = {}  # term -> the one leader of that term
        self.entries: dict[tuple[int, int], tuple[int, bytes, int]] = {}
        self.applied: dict[int, bytes] = {}  # index -> state digest after applying it
        self.committed: dict[int, int] = {}  # index -> term, for every applied entry
        self.max_commit = 0
        self.commit_term: dict[int, int] = {}  # index -> upper bound of its commit term
        self.reads: dict[bytes, int] = {}  # ctx -> commit index when requested
        self.reads_served = 0
        self.quorum_checked = 0  # leader commits checked against the disks
        self.values: set[bytes] = set()  # data of every applied entry
        self.value_index: dict[bytes, int] = {}
        self._new_leaders: list[SimNode] = []
        self._new_committed: list[tuple[int, int]] = []

    def on_soft_state(self, node: SimNode, role: Role, term: int) -> None:
        if role != Role.LEADER:
            return
        holder = self.leaders.setdefault(term, node.id)
        if holder != node.id:
            raise InvariantError(f"two leaders in term {term}: {holder} and {node.id}")
        self._new_leaders.append(node)

    def on_persist(self, node: SimNode, ents: list[Entry]) -> None:
        """Log matching: an (index, term) names one entry and one predecessor term."""
        prev = node.storage.term(ents[0].index - 1)
        for e in ents:
            got = (e.type, e.data, prev)
            seen = self.entries.setdefault((e.index, e.term), got)
            if seen != got:
                raise InvariantError(
                    f"log matching: node {node.id} has ({e.index}, {e.term}) = {got}, "
                    f"another log has {seen}"
                )
            prev = e.term

    def on_leader_step(self, node: SimNode, nodes: dict[int, SimNode]) -> None:
        """Durability, after every call that may move a leader's commit index: it
        commits an index only once a quorum of its voters holds that entry on disk (its
        own appends may go out before its fsync, so its unpersisted entries must not
        count)."""
        raw = node.raw
        if raw is None:
            return
        commit, checked = raw._raft.log.committed, node.checked_commit
        node.checked_commit = max(commit, checked)
        if raw.role != Role.LEADER or commit <= checked:
            return  # a commit index learned as a follower was its leader's to check
        term = raw._raft.log.term_or_zero(commit)
        if len(raw._raft.tracker.progress) == 1 and not _holds(node.storage, commit, term):
            # Alone, a leader commits its entries as it appends them: nobody can hear
            # of it before they are persisted, nor are they applied before (on_apply).
            # Checked again once the Ready is persisted.
            return
        voters = raw.status().voters
        durable = [v for v in voters if _holds(nodes[v].storage, commit, term)]
        if 2 * len(durable) <= len(voters):
            raise InvariantError(
                f"leader {node.id} committed ({commit}, {term}) held on disk by "
                f"{durable} only, of voters {voters}"
            )
        self.quorum_checked += 1

    def on_commit(self, node: SimNode, commit: int, term: int) -> None:
        if commit < node.last_commit:
            raise InvariantError(
                f"node {node.id} commit went back from {node.last_commit} to {commit}"
            )
        node.last_commit = commit
        # The term in which an index was committed is at most the term of the first
        # node seen to commit it (exactly, when that node is the committing leader).
        for i in range(self.max_commit + 1, commit + 1):
            self.commit_term[i] = term
        self.max_commit = max(self.max_commit, commit)

    def on_apply(self, node: SimNode, e: Entry) -> None:
        if e.index != node.applied + 1:
            raise InvariantError(f"node {node.id} applied {e.index} after {node.applied}")
        if not _holds(node.storage, e.index, e.term):
            raise InvariantError(f"node {node.id} applied ({e.index}, {e.term}) before its fsync")
        node.applied = e.index
        node.digest = chain(node.digest, e)
        self._state_at(node, e.index, node.digest)
        if self.committed.setdefault(e.index, e.term) != e.term:
            raise InvariantError(f"index {e.index} committed with two terms")
        if e.index > self.max_commit:
            raise InvariantError(f"node {node.id} applied {e.index} beyond any commit")
        self._new_committed.append((e.index, e.term))
        self.values.add(e.data)
        self.value_index.setdefault(e.data, e.index)

    def on_restore(self, node: SimNode, index: int, digest: bytes) -> None:
        node.applied = index
        node.digest = digest
        self._state_at(node, index, digest)

    def _state_at(self, node: SimNode, index: int, digest: bytes) -> None:
        """State machine safety: every node has the same state after index i."""
        if self.applied.setdefault(index, digest) != digest:
            raise InvariantError(f"node {node.id} diverged at applied index {index}")

    def on_read_request(self, ctx: bytes) -> None:
        self.reads[ctx] = self.max_commit

    def on_read_state(self, node: SimNode, index: int, ctx: bytes) -> None:
        """Linearizable reads: no write committed before the read may be missed."""
        floor = self.reads[ctx]
        if index < floor:
            raise InvariantError(
                f"node {node.id} read index {index} for {ctx!r} < commit {floor} at request"
            )
        self.reads_served += 1

    def end_round(self, nodes: dict[int, SimNode]) -> None:
        """Leader completeness: an entry committed in term T is in the log of every
        leader of a term above T. Checked once every node is durable for the round;
        a stale leader of a lower term may legitimately lack it."""
        ct = self.commit_term
        for node in self._new_leaders:
            raw = node.raw
            if raw is not None and raw.role == Role.LEADER:
                due = [(i, t) for i, t in self.committed.items() if ct[i] < raw.term]
                self._leader_has(node, due)
        if self._new_committed:
            for node in nodes.values():
                raw = node.raw
                if raw is not None and raw.role == Role.LEADER:
                    due = [(i, t) for i, t in self._new_committed if ct[i] < raw.term]
                    self._leader_has(node, due)
        self._new_leaders.clear()
        self._new_committed.clear()

    @staticmethod
    def _leader_has(node: SimNode, committed) -> None:  # type: ignore[no-untyped-def]
        first = node.storage.first_index()
        last = node.storage.last_index()
        for i, t in committed:
            if i < first:
                continue  # inside its snapshot, which only holds committed state
            if i > last or node.storage.term(i) != t:
                raise InvariantError(
                    f"leader {node.id} (term {node.raw.term if node.raw else '?'}) lacks "
                    f"committed entry ({i}, {t})"
                )


def _holds(storage: MemoryStorage, index: int, term: int) -> bool:
    """Is entry (index, term) on this disk, or inside its snapshot (committed state)?"""
    if index <= storage.snapshot().metadata.index:
        return True
    return index <= storage.last_index() and storage.term(index) == term


class Cluster:
    def __init__(self, seed: int, opts: SimOptions | None = None, faults: bool = True) -> None:
        self.seed = seed
        self.opts = opts or SimOptions()
        self.rng = random.Random(seed)
        self.check = Checker()
        self.stats: Counter[str] = Counter()  # what happened, to prove runs are not vacuous
        self.round = 0
        self.faults = faults
        self.nodes: dict[int, SimNode] = {}
        self._net: list[tuple[int, int, bytes | Message]] = []
        self._seq = 0
        self._group: dict[int, int] = {}  # node -> partition group; absent = group 0
        self._next_value = 0
        self._next_read = 0
        founders = list(range(1, self.opts.voters + 1))
        for nid in range(1, self.opts.voters + self.opts.spares + 1):
            storage = MemoryStorage()
            if nid in founders:
                bootstrap(storage, founders)
            node = SimNode(nid, storage)
            self.nodes[nid] = node
            self.start(nid)

    # -- nodes ----------------------------------------------------------------------

    def start(self, nid: int) -> None:
        """(Re)start nid from its durable storage, as a real process would."""
        node = self.nodes[nid]
        snap = node.storage.snapshot()
        node.applied = snap.metadata.index
        node.digest = snap.data
        node.conf_state = snap.metadata.conf_state
        node.last_commit = node.storage.initial_state()[0].commit
        node.raw = RawNode(
            Config(
                id=nid,
                storage=node.storage,
                election_tick=self.opts.election_tick,
                heartbeat_tick=1,
                applied=node.applied,
                max_size_per_msg=self.opts.max_size_per_msg,
                max_inflight_msgs=self.opts.max_inflight,
                pre_vote=self.opts.pre_vote,
                check_quorum=self.opts.check_quorum,
                read_only_lease_based=self.opts.lease_reads,
                rng=random.Random(self.rng.getrandbits(32)),
            )
        )

    def crash(self, nid: int) -> None:
        self.stats["crash"] += 1
        self.nodes[nid].raw = None
        self.nodes[nid].syncing = None  # its disk never got that Ready

    def live(self) -> list[SimNode]:
        return [n for n in self.nodes.values() if n.raw is not None]

    def leaders(self) -> list[SimNode]:
        return [n for n in self.live() if n.raw is not None and n.raw.role == Role.LEADER]

    def leader(self) -> SimNode | None:
        """The live leader with the highest term, if any."""
        best = None
        for n in self.leaders():
            if best is None or n.raw.term > best.raw.term:  # type: ignore[union-attr]
                best = n
        return best

    def raw(self, nid: int) -> RawNode:
        raw = self.nodes[nid].raw
        assert raw is not None, f"node {nid} is down"
        return raw

    # -- network --------------------------------------------------------------------

    def isolate(self, nid: int) -> None:
        self._group[nid] = max(self._group.values(), default=0) + 1

    def partition(self, *groups: list[int]) -> None:
        self._group = {nid: g + 1 for g, members in enumerate(groups) for nid in members}

    def heal(self) -> None:
        self._group = {}

    def connected(self, a: int, b: int) -> bool:
        return self._group.get(a, 0) == self._group.get(b, 0)

    def _send(self, m: Message) -> None:
        o = self.opts
        copies = 1
        if self.faults:
            if self.rng.random() < o.drop:
                copies = 0
            elif self.rng.random() < o.dup:
                copies = 2
        for _ in range(copies):
            delay = 1 + int(self.rng.random() ** 3 * o.max_delay) if self.faults else 1
            self._seq += 1
            wire = encode_message(m) if o.wire_codec else _copy(m)
            heapq.heappush(self._net, (self.round + delay, self._seq, wire))
        if copies == 0 and m.type == MessageType.SNAP:
            self._report_snapshot(m, ok=False)

    def _deliver_due(self) -> None:
        while self._net and self._net[0][0] <= self.round:
            _, _, wire = heapq.heappop(self._net)
            m = decode_message(wire) if isinstance(wire, bytes) else wire
            dst = self.nodes.get(m.to)
            ok = dst is not None and dst.raw is not None and self.connected(m.frm, m.to)
            if m.type == MessageType.SNAP:
                self._report_snapshot(m, ok)
            if ok:
                self.stats[m.type.name] += 1
                dst.raw.step(m)  # type: ignore[union-attr]
                self.check.on_leader_step(dst, self.nodes)  # type: ignore[arg-type]
            elif m.type == MessageType.APP:
                src = self.nodes[m.frm].raw
                if src is not None:
                    src.report_unreachable(m.to)

    def _report_snapshot(self, m: Message, ok: bool) -> None:
        src = self.nodes[m.frm].raw
        if src is not None:
            src.report_snapshot(m.to, ok)

    # -- the driver loop ------------------------------------------------------------

    def handle_ready(self, node: SimNode) -> None:
        raw = node.raw
        assert raw is not None
        if node.syncing is not None:
            rd, due, term = node.syncing
            if self.round < due:
                return
            node.syncing = None
            if self.faults and self.rng.random() < self.opts.crash_in_fsync:
                self.stats["crash_in_fsync"] += 1
                self.crash(node.id)
                return
            self._persist(node, rd)
            self._finish(node, rd, term)
        while raw.has_ready():
            rd = raw.ready()
            if rd.send_first:
                for m in rd.messages:
                    self._send(m)
                if rd.entries and self.faults:
                    due = self.round + 1 + self.rng.randrange(self.opts.fsync_rounds)
                    node.syncing = (rd, due, raw.term)
                    return
                self._persist(node, rd)
            else:
                self._persist(node, rd)
                for m in rd.messages:
                    self._send(m)
            self._finish(node, rd, raw.term)

    def _finish(self, node: SimNode, rd: Ready, term: int) -> None:
        """After a Ready is persisted: apply, serve reads, advance."""
        raw = node.raw
        assert raw is not None
        self._apply(node, rd)
        for rs in rd.read_states:
            self.check.on_read_state(node, rs.index, rs.request_ctx)
        raw.advance(rd)
        self.check.on_leader_step(node, self.nodes)
        if rd.soft_state is not None:
            if rd.soft_state.role == Role.LEADER:
                self.stats["leader_elected"] += 1
            self.check.on_soft_state(node, rd.soft_state.role, term)

    def _persist(self, node: SimNode, rd: Ready) -> None:
        if rd.snapshot is not None:
            node.storage.apply_snapshot(rd.snapshot)
        if rd.entries:
            node.storage.append(rd.entries)
            self.check.on_persist(node, rd.entries)
        if rd.hard_state is not None:
            node.storage.set_hard_state(rd.hard_state)
            self.check.on_commit(node, rd.hard_state.commit, rd.hard_state.term)

    def _apply(self, node: SimNode, rd: Ready) -> None:
        raw = node.raw
        assert raw is not None
        if rd.snapshot is not None:
            self.stats["snapshot_restored"] += 1
            meta = rd.snapshot.metadata
            node.conf_state = meta.conf_state
            self.check.on_restore(node, meta.index, rd.snapshot.data)
        for e in rd.committed_entries:
            self.check.on_apply(node, e)
            if e.type == EntryType.CONF_CHANGE:
                self.stats["conf_change_applied"] += 1
                node.conf_state = raw.apply_conf_change(decode_conf_change(e.data))
                self.check.on_leader_step(node, self.nodes)

    def step(self) -> None:
        """One round: tick, deliver, inject events, drain Readies, check."""
        self.round += 1
        if self.round % ROUNDS_PER_TICK == 0:
            for node in self.live():
                node.raw.tick()  # type: ignore[union-attr]
        self._deliver_due()
        self._events()
        for node in self.live():
            self.handle_ready(node)
        self.check.end_round(self.nodes)

    def run(self, rounds: int) -> None:
        for _ in range(rounds):
            self.step()

    def ticks(self, n: int) -> None:
        self.run(n * ROUNDS_PER_TICK)

    def run_until(self, cond: Callable[[], bool], max_ticks: int = 100) -> int:
        """Step until cond() holds; the rounds it took. Fails after max_ticks ticks."""
        for r in range(max_ticks * ROUNDS_PER_TICK):
            if cond():
                return r
            self.step()
        raise InvariantError(f"condition not reached within {max_ticks} ticks")

    def elect(self, nid: int) -> None:
        """Make nid campaign now and wait for it to lead."""
        self.raw(nid).campaign()
        self.run_until(lambda: self.is_leader(nid))

    def is_leader(self, nid: int) -> bool:
        raw = self.nodes[nid].raw
        return raw is not None and raw.role == Role.LEADER

    def applied_everywhere(self, value: bytes, ids: list[int] | None = None) -> bool:
        """Has every given live node applied the entry carrying value?"""
        index = self.check.value_index.get(value)
        if index is None:
            return False
        nodes = [self.nodes[i] for i in ids] if ids else self.live()
        return all(n.raw is not None and n.applied >= index for n in nodes)

    # -- clients and faults -----------------------------------------------------------

    def propose(self, nid: int, data: bytes | None = None) -> bytes | None:
        """Propose through nid; the value, or None if it was dropped."""
        if data is None:
            self._next_value += 1
            data = b"v%d" % self._next_value
        try:
            self.raw(nid).propose(data)
        except ProposalDroppedError:
            return None
        return data

    def read(self, nid: int) -> bytes:
        self._next_read += 1
        ctx = b"r%d" % self._next_read
        self.check.on_read_request(ctx)
        self.raw(nid).read_index(ctx)
        return ctx

    def compact(self, node: SimNode, keep: int) -> None:
        """Snapshot the state machine at its applied index and drop older entries."""
        if node.applied <= node.storage.snapshot().metadata.index:
            return
        self.stats["compaction"] += 1
        node.storage.create_snapshot(node.applied, node.conf_state, node.digest)
        node.storage.compact(max(node.applied - keep, node.storage.first_index()))

    def _events(self) -> None:
        rng, o = self.rng, self.opts
        live = self.live()
        if live and rng.random() < o.propose:
            self.propose(rng.choice(live).id)
        if live and rng.random() < o.read:
            self.read(rng.choice(live).id)
        if live and rng.random() < o.compact:
            self.compact(rng.choice(live), keep=rng.randrange(4))
        if rng.random() < o.transfer:
            lead = self.leader()
            if lead is not None:
                voters = lead.conf_state.voters
                lead.raw.transfer_leader(rng.choice(voters))  # type: ignore[union-attr]
        if rng.random() < o.conf_change:
            self._conf_change()
        if not self.faults:
            return
        ids = sorted(self.nodes)
        if rng.random() < o.partition:
            self.stats["partition"] += 1
            rng.shuffle(ids)
            cut = rng.randrange(1, len(ids))
            self.partition(ids[:cut], ids[cut:])
        elif self._group and rng.random() < o.heal:
            self.heal()
        if live and rng.random() < o.crash:
            self.crash(rng.choice(live).id)
        down = [n for n in self.nodes.values() if n.raw is None]
        if down and rng.random() < o.restart:
            self.start(rng.choice(down).id)

    def _conf_change(self) -> None:
        lead = self.leader()
        if lead is None:
            return
        rng = self.rng
        cs = lead.conf_state
        others = [n for n in self.nodes if n not in cs.voters and n not in cs.learners]
        choices: list[ConfChange] = []
        choices += [ConfChange(ConfChangeType.ADD_LEARNER_NODE, n) for n in others]
        choices += [ConfChange(ConfChangeType.ADD_NODE, n) for n in cs.learners]
        choices += [ConfChange(ConfChangeType.REMOVE_NODE, n) for n in cs.learners]
        if len(cs.voters) > 2:
            choices += [ConfChange(ConfChangeType.REMOVE_NODE, n) for n in cs.voters]
            choices += [ConfChange(ConfChangeType.ADD_LEARNER_NODE, n) for n in cs.voters]
        if choices:
            with contextlib.suppress(ProposalDroppedError):
                lead.raw.propose_conf_change(rng.choice(choices))  # type: ignore[union-attr]

    # -- liveness ----------------------------------------------------------------------

    def heal_all(self) -> None:
        """End the fault phase: reconnect, restart everyone, stop dropping messages."""
        self.faults = False
        self.heal()
        for nid, node in sorted(self.nodes.items()):
            if node.raw is None:
                self.start(nid)
        self.opts.transfer = 0.0
        self.opts.conf_change = 0.0

    def await_commit(self, max_ticks: int) -> int:
        """After heal_all: a leader emerges and commits a fresh proposal within
        max_ticks ticks. Returns the ticks it took."""
        target = b"final-%d" % self.seed
        retry = 2 * self.opts.election_tick * ROUNDS_PER_TICK
        proposed_at = None
        for r in range(max_ticks * ROUNDS_PER_TICK):
            lead = self.leader()
            # A proposal to a leader that is then deposed may be lost: retry.
            due = proposed_at is None or r - proposed_at >= retry
            if lead is not None and due and self.propose(lead.id, target) is not None:
                proposed_at = r
            self.step()
            if target in self.check.values:
                return r // ROUNDS_PER_TICK
        raise InvariantError(f"no leader committed a proposal within {max_ticks} ticks")
