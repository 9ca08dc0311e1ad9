"""One raft member's state and the transitions common to every role.

Role-specific message handling lives in leader.py, candidate.py and follower.py; this
module holds term and vote bookkeeping, role changes, ticking, and the checks every
message passes before it reaches the role's step function.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from kvcore.raft import candidate, follower, leader
from kvcore.raft.confchange import apply_change
from kvcore.raft.config import Config
from kvcore.raft.log import RaftLog
from kvcore.raft.messages import (
    CAMPAIGN_TRANSFER,
    LEADER_TYPES,
    CampaignType,
    Message,
    MessageType,
    vote_response_type,
)
from kvcore.raft.quorum import VoteResult
from kvcore.raft.readonly import ReadOnly, ReadState
from kvcore.raft.status import Role, SoftState
from kvcore.raft.storage import CompactedError
from kvcore.raft.tracker import ProgressTracker
from kvcore.raft.types import NONE, ConfChange, ConfState, Entry, EntryType, HardState

MT = MessageType


class Raft:
    def __init__(self, cfg: Config) -> None:
        cfg.validate()
        self.id = cfg.id
        self.log = RaftLog(cfg.storage, cfg.max_size_per_msg)
        self.max_msg_size = cfg.max_size_per_msg
        self.tracker = ProgressTracker(cfg.max_inflight_msgs)
        self.heartbeat_timeout = cfg.heartbeat_tick
        self.election_timeout = cfg.election_tick
        self.check_quorum = cfg.check_quorum
        self.pre_vote = cfg.pre_vote
        self.read_only_lease_based = cfg.read_only_lease_based
        self.rng = cfg.rng if cfg.rng is not None else random.Random(cfg.id)

        self.term = 0
        self.vote = NONE
        self.lead = NONE
        self.role = Role.FOLLOWER
        self.msgs: list[Message] = []
        # A leader's appends owed to followers (new entries, a new commit index), sent
        # once by flush_appends rather than once per proposal or acknowledgement.
        self.appends_due = False
        # A leader's followers waiting on a proposal they forwarded: follower -> its
        # index. They hear it committed in an append at once, not a held COMMIT.
        self.forwarded: dict[int, int] = {}
        self.read_states: list[ReadState] = []
        self.read_only = ReadOnly()
        self.pending_reads: list[Message] = []  # leader: reads waiting for a commit in term
        self.lead_transferee = NONE
        self.pending_conf_index = 0
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = cfg.election_tick
        self._step: Callable[[Raft, Message], None] = follower.step_follower
        self._tick: Callable[[], None] = self._tick_election

        hs, cs = cfg.storage.initial_state()
        self.tracker.apply_conf(cs, self.log.last_index() + 1)
        if not hs.is_empty():
            self._load_state(hs)
        if cfg.applied > self.log.applied:
            self.log.applied_to(cfg.applied)
        self.become_follower(self.term, NONE)

    def _load_state(self, hs: HardState) -> None:
        if not self.log.committed <= hs.commit <= self.log.last_index():
            raise ValueError(
                f"hard state commit {hs.commit} outside "
                f"[{self.log.committed}, {self.log.last_index()}]"
            )
        self.log.committed = hs.commit
        self.term = hs.term
        self.vote = hs.vote

    # -- views ----------------------------------------------------------------

    def hard_state(self) -> HardState:
        return HardState(term=self.term, vote=self.vote, commit=self.log.committed)

    def soft_state(self) -> SoftState:
        return SoftState(lead=self.lead, role=self.role)

    def flush_appends(self) -> None:
        """Send the appends owed since the last flush: each follower gets what it
        lacks, with the newest commit index, in one message. Called before every Ready
        is collected, so many proposals and acks in one turn make one append each."""
        if self.appends_due:
            self.appends_due = False
            if self.role == Role.LEADER:
                leader.bcast_pending(self)

    def promotable(self) -> bool:
        """Only voters campaign: learners and removed members never do."""
        return self.id in self.tracker.voters

    # -- sending --------------------------------------------------------------

    def send(self, m: Message) -> None:
        if m.frm == NONE:
            # Forwarded messages keep their origin: a forwarded TRANSFER_LEADER names
            # the transferee in frm, a forwarded proposal its proposer.
            m.frm = self.id
        if m.type in (MT.VOTE, MT.VOTE_RESP, MT.PRE_VOTE, MT.PRE_VOTE_RESP):
            # Vote traffic names its own term: pre-votes are for a term not yet entered.
            if m.term == 0:
                raise AssertionError(f"{m.type.name} must carry a term")
        elif m.type not in (MT.PROP, MT.READ_INDEX):
            # Forwarded proposals and reads are local to the leader, so they carry no term.
            m.term = self.term
        self.msgs.append(m)

    # -- role transitions -----------------------------------------------------

    def _reset(self, term: int) -> None:
        if self.term != term:
            self.term = term
            self.vote = NONE
        self.lead = NONE
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = self.election_timeout + self.rng.randrange(
            self.election_timeout
        )
        self.lead_transferee = NONE
        self.tracker.reset_votes()
        self.tracker.reset_progress(self.log.last_index() + 1)
        me = self.tracker.progress.get(self.id)
        if me is not None:
            # Only what is durable here counts toward commit.
            me.match = self.log.last_stable_index()
        self.pending_conf_index = 0
        self.appends_due = False
        self.forwarded = {}
        self.read_only = ReadOnly()
        self.pending_reads = []

    def become_follower(self, term: int, lead: int) -> None:
        self._step = follower.step_follower
        self._reset(term)
        self._tick = self._tick_election
        self.lead = lead
        self.role = Role.FOLLOWER

    def become_pre_candidate(self) -> None:
        if self.role == Role.LEADER:
            raise AssertionError("leader cannot become pre-candidate")
        # Term and vote stay: a pre-election must not disturb anyone.
        self._step = candidate.step_candidate
        self.tracker.reset_votes()
        self._tick = self._tick_election
        self.lead = NONE
        self.role = Role.PRE_CANDIDATE

    def become_candidate(self) -> None:
        if self.role == Role.LEADER:
            raise AssertionError("leader cannot become candidate")
        self._step = candidate.step_candidate
        self._reset(self.term + 1)
        self._tick = self._tick_election
        self.vote = self.id
        self.role = Role.CANDIDATE

    def become_leader(self) -> None:
        if self.role == Role.FOLLOWER:
            raise AssertionError("follower cannot become leader without an election")
        self._step = leader.step_leader
        self._reset(self.term)
        self._tick = self._tick_heartbeat
        self.lead = self.id
        self.role = Role.LEADER
        self.tracker.progress[self.id].become_replicate()
        # Conf changes in the uncommitted tail may be pending; allow no new one
        # until the whole tail is applied.
        self.pending_conf_index = self.log.last_index()
        # An entry of our own term lets us commit everything before it (§5.4.2).
        leader.append_entry(self, [Entry(term=0, index=0)])

    def win_election(self) -> None:
        self.become_leader()
        leader.bcast_append(self)

    # -- elections ------------------------------------------------------------

    def hup(self, kind: CampaignType) -> None:
        if self.role == Role.LEADER or not self.promotable():
            return
        if self._has_unapplied_conf_change():
            # Its outcome may remove us; campaign once it is applied.
            return
        self.campaign(kind)

    def _has_unapplied_conf_change(self) -> bool:
        lo = self.log.applied + 1
        hi = self.log.committed + 1
        if lo >= hi:
            return False
        try:
            ents = self.log.slice(lo, hi)
        except CompactedError:
            return False
        return any(e.type == EntryType.CONF_CHANGE for e in ents)

    def campaign(self, kind: CampaignType) -> None:
        if kind == CampaignType.PRE_ELECTION:
            self.become_pre_candidate()
            vote_type, term = MT.PRE_VOTE, self.term + 1
        else:
            self.become_candidate()
            vote_type, term = MT.VOTE, self.term
        self.tracker.record_vote(self.id, True)
        if self.tracker.tally() == VoteResult.WON:
            # A single voter wins at once.
            if kind == CampaignType.PRE_ELECTION:
                self.campaign(CampaignType.ELECTION)
            else:
                self.win_election()
            return
        ctx = CAMPAIGN_TRANSFER if kind == CampaignType.TRANSFER else b""
        last, last_term = self.log.last_index(), self.log.last_term()
        for nid in sorted(self.tracker.voters):
            if nid != self.id:
                self.send(
                    Message(
                        vote_type, to=nid, term=term, index=last, log_term=last_term, context=ctx
                    )
                )

    def abort_leader_transfer(self) -> None:
        self.lead_transferee = NONE

    # -- time -----------------------------------------------------------------

    def tick(self) -> None:
        self._tick()

    def _tick_election(self) -> None:
        self.election_elapsed += 1
        if self.promotable() and self.election_elapsed >= self.randomized_election_timeout:
            self.election_elapsed = 0
            self.step(Message(MT.HUP, frm=self.id))

    def _tick_heartbeat(self) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.election_elapsed >= self.election_timeout:
            self.election_elapsed = 0
            if self.check_quorum:
                self.step(Message(MT.CHECK_QUORUM, frm=self.id))
            # A transfer that did not finish within an election timeout has failed.
            if self.role == Role.LEADER:
                self.abort_leader_transfer()
        if self.role != Role.LEADER:
            return
        if self.heartbeat_elapsed >= self.heartbeat_timeout:
            self.heartbeat_elapsed = 0
            self.step(Message(MT.BEAT, frm=self.id))

    # -- input ------------------------------------------------------------------

    def step(self, m: Message) -> None:
        if not self._check_term(m):
            return
        t = m.type
        if t == MT.HUP:
            kind = CampaignType.PRE_ELECTION if self.pre_vote else CampaignType.ELECTION
            self.hup(kind)
        elif t in (MT.VOTE, MT.PRE_VOTE):
            self._handle_vote_request(m)
        else:
            self._step(self, m)

    def _check_term(self, m: Message) -> bool:
        """Apply the term rules every message obeys; False if m is to be dropped."""
        if m.term == 0 or m.term == self.term:
            return True
        if m.term > self.term:
            if m.type in (MT.VOTE, MT.PRE_VOTE):
                forced = m.context == CAMPAIGN_TRANSFER
                in_lease = (
                    self.check_quorum
                    and self.lead != NONE
                    and self.election_elapsed < self.election_timeout
                )
                if in_lease and not forced:
                    # We heard from a live leader within the minimum election timeout:
                    # this candidate is disruptive (e.g. just rejoined); ignore it.
                    return False
            if m.type == MT.PRE_VOTE or (m.type == MT.PRE_VOTE_RESP and not m.reject):
                # Pre-votes are for a future term; a granted one does not move us there.
                return True
            lead = m.frm if m.type in LEADER_TYPES else NONE
            self.become_follower(m.term, lead)
            return True
        # A stale term.
        if (self.check_quorum or self.pre_vote) and m.type in (MT.HEARTBEAT, MT.APP, MT.COMMIT):
            # A deposed leader (e.g. after a partition) learns our term from this and
            # steps down; without it, pre-vote could leave it stranded forever.
            self.send(Message(MT.APP_RESP, to=m.frm))
        elif m.type == MT.PRE_VOTE:
            self.send(Message(MT.PRE_VOTE_RESP, to=m.frm, term=self.term, reject=True))
        return False

    def _handle_vote_request(self, m: Message) -> None:
        can_vote = (
            self.vote == m.frm
            or (self.vote == NONE and self.lead == NONE)
            or (m.type == MT.PRE_VOTE and m.term > self.term)
        )
        resp = vote_response_type(m.type)
        if can_vote and self.log.is_up_to_date(m.index, m.log_term):
            # Answer with the candidate's term so a pre-candidate counts the grant.
            self.send(Message(resp, to=m.frm, term=m.term))
            if m.type == MT.VOTE:
                self.election_elapsed = 0
                self.vote = m.frm
        else:
            self.send(Message(resp, to=m.frm, term=self.term, reject=True))

    # -- membership -------------------------------------------------------------

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        cs = apply_change(self.tracker.conf_state(), cc)
        self.switch_to_config(cs)
        return cs

    def switch_to_config(self, cs: ConfState) -> None:
        self.tracker.apply_conf(cs, self.log.last_index() + 1)
        if self.role != Role.LEADER:
            return
        if self.id not in self.tracker.voters:
            # Removed or demoted: stop leading; the remaining voters elect a successor.
            self.become_follower(self.term, NONE)
            return
        if leader.maybe_commit(self):
            leader.bcast_append(self)
        else:
            for nid in self.tracker.ids():
                if nid != self.id:
                    leader.maybe_send_append(self, nid, send_if_empty=False)
        if self.lead_transferee != NONE and self.lead_transferee not in self.tracker.voters:
            self.abort_leader_transfer()
