"""RawNode: the raft core's whole public surface, for a single-threaded driver.

The driver loop, in order:

    node.tick()            every tick interval (the only notion of time)
    node.step(msg)         for every message from a peer
    node.propose(data)     for client writes; read_index(ctx) for linearizable reads
    if node.has_ready():
        rd = node.ready()
        1. persist, in one durable write (fsync when rd.must_sync):
           rd.snapshot (if any), then rd.entries, then rd.hard_state (if any)
        2. send rd.messages           (only after step 1 is durable, unless
                                       rd.send_first: then before or during it)
        3. apply rd.snapshot's data, then rd.committed_entries in order; for a
           CONF_CHANGE entry call node.apply_conf_change(decoded ConfChange)
        4. serve rd.read_states once applied >= read_state.index
        5. node.advance(rd)
    Call advance(rd) before the next ready(). Never call RawNode from two threads.

Starting: a founding member of a new cluster persists bootstrap.bootstrap_snapshot(
voters) (MemoryStorage: bootstrap.bootstrap(storage, voters)) and then creates its
RawNode; every founder uses the same voter list. A member joining an existing cluster
starts on an empty storage after the change adding it is proposed; the leader sends it
a snapshot carrying the configuration. A restarting member reopens its storage (hard
state, snapshot, entries) and passes Config.applied = the index its application state
already reflects; committed entries above it come out again in committed_entries.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from kvcore.raft import leader
from kvcore.raft.codec import encode_conf_change
from kvcore.raft.config import Config
from kvcore.raft.errors import ProposalDroppedError, StepLocalMessageError
from kvcore.raft.messages import LOCAL_TYPES, Message, MessageType
from kvcore.raft.raft import Raft
from kvcore.raft.readonly import ReadState
from kvcore.raft.status import ProgressStatus, Role, SoftState, Status
from kvcore.raft.types import (
    ConfChange,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Snapshot,
)

__all__ = ["Config", "RawNode", "Ready"]

MT = MessageType


@dataclass(slots=True)
class Ready:
    """Work for the driver. Field by field, with its ordering rule:

    soft_state: new leader/role, or None if unchanged. Informational; not persisted.
    hard_state: new term/vote/commit, or None if unchanged. Persist before sending
        `messages`: a vote or term that is not durable can be cast twice after a crash.
    entries: log entries to persist (append; an entry at an existing index replaces it
        and all after it). Durable before `messages` are sent.
    snapshot: a snapshot received from the leader, or None. Persist it (it replaces the
        whole log) before `entries`, and restore the application from its data before
        applying `committed_entries`.
    committed_entries: entries to apply to the state machine, in order. They may include
        entries from this same Ready's `entries`; apply only after persisting.
    messages: to send to peers, after the persistence above is durable. Delivery may be
        lossy, duplicated or reordered; raft copes.
    read_states: answers to read_index() calls: serve the read with ctx once the
        application has applied at least `index`.
    must_sync: True when term, vote or entries changed: the write must be fsynced before
        `messages` go out. A commit-only change may be written lazily.
    send_first: True when `messages` may go out before the persistence above is
        durable, in parallel with it (raft thesis 10.2.1): this member leads and its term
        and vote are durable already. Its own new entries count toward commit only from
        `advance`, which reports them persisted, so nothing commits before a quorum
        holds it on disk. Committed entries are still applied only after persisting.
    """

    soft_state: SoftState | None = None
    hard_state: HardState | None = None
    entries: list[Entry] = field(default_factory=list)
    snapshot: Snapshot | None = None
    committed_entries: list[Entry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    read_states: list[ReadState] = field(default_factory=list)
    must_sync: bool = False
    send_first: bool = False


class RawNode:
    """One raft member. Create it over a Storage that reflects what was persisted:
    bootstrap.bootstrap() for a founding member of a new cluster, an empty storage for
    a member being added, the reopened storage on restart (with Config.applied set to
    what the application already applied)."""

    def __init__(self, config: Config) -> None:
        self._raft = Raft(config)
        self._prev_soft = self._raft.soft_state()
        self._prev_hard = self._raft.hard_state()

    # -- input ------------------------------------------------------------------

    def tick(self) -> None:
        """Advance logical time by one tick (election and heartbeat timers)."""
        self._raft.tick()

    def campaign(self) -> None:
        """Start an election now (a pre-vote round first when pre_vote is on)."""
        self._raft.step(Message(MT.HUP, frm=self._raft.id))

    def propose(self, data: bytes) -> None:
        """Append data to the log via the leader. Raises ProposalDroppedError if no
        leader is known or leadership is being transferred. Acceptance is no promise
        of commit: wait for the entry in committed_entries, with a timeout."""
        self._raft.step(
            Message(MT.PROP, frm=self._raft.id, entries=[Entry(term=0, index=0, data=data)])
        )

    def propose_conf_change(self, cc: ConfChange) -> None:
        """Propose a membership change. Only one may be in flight: raises
        ProposalDroppedError while an earlier one is not yet applied on the leader."""
        e = Entry(term=0, index=0, type=EntryType.CONF_CHANGE, data=encode_conf_change(cc))
        self._raft.step(Message(MT.PROP, frm=self._raft.id, entries=[e]))

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        """Apply a committed CONF_CHANGE entry; returns the configuration now in force,
        to store with the application's state (and in snapshots)."""
        return self._raft.apply_conf_change(cc)

    def step(self, msg: Message) -> None:
        """Feed a message received from a peer. Forwarded proposals that cannot be
        accepted are dropped silently; their proposer times out and retries."""
        if msg.type in LOCAL_TYPES:
            raise StepLocalMessageError(f"{msg.type.name} is local-only")
        with contextlib.suppress(ProposalDroppedError):
            self._raft.step(msg)

    def read_index(self, ctx: bytes) -> None:
        """Request a linearizable read; ctx (non-empty, unique among reads in flight)
        comes back in Ready.read_states. Dropped silently without a leader: retry."""
        if not ctx:
            raise ValueError("read_index needs a non-empty context")
        self._raft.step(Message(MT.READ_INDEX, context=ctx))

    def transfer_leader(self, to: int) -> None:
        """Ask the leader to hand leadership to `to` once its log is up to date."""
        self._raft.step(Message(MT.TRANSFER_LEADER, frm=to))

    def report_unreachable(self, nid: int) -> None:
        """The transport failed to send to nid: stop streaming to it, probe instead."""
        self._raft.step(Message(MT.UNREACHABLE, frm=nid))

    def report_snapshot(self, nid: int, ok: bool) -> None:
        """Result of sending a SNAP message to nid; until reported, nid gets nothing."""
        self._raft.step(Message(MT.SNAP_STATUS, frm=nid, reject=not ok))

    # -- output -----------------------------------------------------------------

    def has_ready(self) -> bool:
        r = self._raft
        r.flush_appends()
        # The cheap tests first: a write in flight answers at the first or second.
        if r.log.unstable.entries or r.msgs or r.read_states or r.log.has_next_entries():
            return True
        return bool(
            self._soft_changed()
            or (self._hard_changed() and not r.hard_state().is_empty())
            or r.log.unstable.snapshot is not None
        )

    def ready(self) -> Ready:
        """Collect pending work; see Ready for what to do with each field."""
        r = self._raft
        r.flush_appends()
        soft = None
        if self._soft_changed():
            soft = self._prev_soft = r.soft_state()
        term_changed = self._term_changed()
        hard = r.hard_state() if self._hard_changed() else None
        entries = r.log.unstable_entries()
        rd = Ready(
            soft_state=soft,
            hard_state=hard,
            entries=entries,
            snapshot=r.log.unstable.snapshot,
            committed_entries=r.log.next_entries(),
            messages=r.msgs,
            read_states=r.read_states,
            must_sync=bool(entries) or term_changed,
            send_first=r.role == Role.LEADER and not term_changed,
        )
        r.msgs = []
        r.read_states = []
        return rd

    # Field by field against the last Ready: no SoftState or HardState is built just to
    # find that nothing changed.
    def _soft_changed(self) -> bool:
        r, prev = self._raft, self._prev_soft
        return r.lead != prev.lead or r.role != prev.role

    def _term_changed(self) -> bool:
        r, prev = self._raft, self._prev_hard
        return r.term != prev.term or r.vote != prev.vote

    def _hard_changed(self) -> bool:
        return self._term_changed() or self._raft.log.committed != self._prev_hard.commit

    def advance(self, rd: Ready) -> None:
        """Tell raft the Ready was handled: persisted, sent and applied. A leader's
        persisted entries now count toward commit: a new Ready may follow at once."""
        r = self._raft
        if rd.hard_state is not None:
            self._prev_hard = rd.hard_state
        if rd.entries:
            last = rd.entries[-1]
            r.log.stable_to(last.index, last.term)
            if r.role == Role.LEADER and r.log.match_term(last.index, last.term):
                leader.on_persisted(r, last.index)
        if rd.snapshot is not None:
            r.log.stable_snap_to(rd.snapshot.metadata.index)
        if rd.committed_entries:
            r.log.applied_to(rd.committed_entries[-1].index)
        elif rd.snapshot is not None:
            r.log.applied_to(rd.snapshot.metadata.index)

    # -- views --------------------------------------------------------------------

    @property
    def id(self) -> int:
        return self._raft.id

    @property
    def leader_id(self) -> int:
        return self._raft.lead

    @property
    def term(self) -> int:
        return self._raft.term

    @property
    def role(self) -> Role:
        return self._raft.role

    def status(self) -> Status:
        r = self._raft
        progress: dict[int, ProgressStatus] = {}
        if r.role == Role.LEADER:
            progress = {
                nid: ProgressStatus(pr.match, pr.next, pr.state, pr.is_learner, pr.recent_active)
                for nid, pr in sorted(r.tracker.progress.items())
            }
        return Status(
            id=r.id,
            hard_state=r.hard_state(),
            soft_state=r.soft_state(),
            applied=r.log.applied,
            voters=sorted(r.tracker.voters),
            learners=sorted(r.tracker.learners),
            lead_transferee=r.lead_transferee,
            progress=progress,
        )
