"""Step function of a follower, and the handlers of leader traffic it shares with
candidates (a candidate that hears from a leader becomes its follower first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvcore.raft.errors import ProposalDroppedError
from kvcore.raft.messages import LEADER_TYPES, CampaignType, Message, MessageType
from kvcore.raft.readonly import ReadState
from kvcore.raft.types import NONE, Snapshot

if TYPE_CHECKING:
    from kvcore.raft.raft import Raft

MT = MessageType


def step_follower(r: Raft, m: Message) -> None:
    t = m.type
    if t == MT.PROP:
        if r.lead == NONE:
            raise ProposalDroppedError("no leader")
        m.to = r.lead
        r.send(m)
    elif t in LEADER_TYPES:
        r.election_elapsed = 0
        r.lead = m.frm
        if t == MT.APP:
            _handle_append(r, m)
        elif t == MT.COMMIT:
            _handle_commit(r, m)
        elif t == MT.HEARTBEAT:
            _handle_heartbeat(r, m)
        else:
            _handle_snapshot(r, m)
    elif t in (MT.TRANSFER_LEADER, MT.READ_INDEX):
        if r.lead == NONE:
            return  # dropped; the caller retries once a leader is known
        m.to = r.lead
        r.send(m)
    elif t == MT.TIMEOUT_NOW:
        # The leader chose us: campaign at once, skipping pre-vote and the lease.
        r.hup(CampaignType.TRANSFER)
    elif t == MT.READ_INDEX_RESP:
        r.read_states.append(ReadState(index=m.index, request_ctx=m.context))


def _handle_commit(r: Raft, m: Message) -> None:
    # Our log matches the leader's up to m.index if the terms there agree (log
    # matching); otherwise it changed since the leader learned it: appends fix that.
    if r.log.match_term(m.index, m.log_term):
        r.log.commit_to(min(m.commit, m.index))


def _handle_append(r: Raft, m: Message) -> None:
    if m.index < r.log.committed:
        # Everything up to our commit index matches the leader already.
        r.send(Message(MT.APP_RESP, to=m.frm, index=r.log.committed))
        return
    last_new = r.log.maybe_append(m.index, m.log_term, m.commit, m.entries)
    if last_new is not None:
        r.send(Message(MT.APP_RESP, to=m.frm, index=last_new))
        return
    # Tell the leader where our log could match so it can skip a whole term at once.
    hint = min(m.index, r.log.last_index())
    hint, hint_term = r.log.find_conflict_by_term(hint, m.log_term)
    r.send(
        Message(
            MT.APP_RESP, to=m.frm, index=m.index, reject=True, reject_hint=hint, log_term=hint_term
        )
    )


def _handle_heartbeat(r: Raft, m: Message) -> None:
    r.log.commit_to(m.commit)
    r.send(Message(MT.HEARTBEAT_RESP, to=m.frm, context=m.context))


def _handle_snapshot(r: Raft, m: Message) -> None:
    if m.snapshot is not None and _restore(r, m.snapshot):
        r.send(Message(MT.APP_RESP, to=m.frm, index=r.log.last_index()))
    else:
        r.send(Message(MT.APP_RESP, to=m.frm, index=r.log.committed))


def _restore(r: Raft, snap: Snapshot) -> bool:
    """Replace our log with snap unless we already have what it covers."""
    meta = snap.metadata
    if meta.index <= r.log.committed:
        return False
    if r.log.match_term(meta.index, meta.term):
        # Our log already holds the snapshot's last entry: just commit up to it.
        r.log.commit_to(meta.index)
        return False
    r.log.restore(snap)
    r.tracker.apply_conf(meta.conf_state, r.log.last_index() + 1)
    return True
