"""The leader's step function and its replication machinery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvcore.raft import quorum
from kvcore.raft.errors import ProposalDroppedError
from kvcore.raft.messages import Message, MessageType
from kvcore.raft.progress import Progress, ProgressState
from kvcore.raft.quorum import VoteResult
from kvcore.raft.readonly import ReadState
from kvcore.raft.storage import CompactedError, SnapshotTemporarilyUnavailableError
from kvcore.raft.types import NONE, Entry, EntryType

if TYPE_CHECKING:
    from kvcore.raft.raft import Raft

MT = MessageType


def step_leader(r: Raft, m: Message) -> None:
    t = m.type
    if t == MT.BEAT:
        bcast_heartbeat(r)
    elif t == MT.CHECK_QUORUM:
        _check_quorum(r)
    elif t == MT.PROP:
        _propose(r, m)
    elif t == MT.READ_INDEX:
        _read_index(r, m)
    else:
        pr = r.tracker.progress.get(m.frm)
        if pr is None:
            return  # from a member no longer in the configuration
        handler = _PEER_HANDLERS.get(t)
        if handler is not None:
            handler(r, m, pr)


# -- local input ----------------------------------------------------------------


def _check_quorum(r: Raft) -> None:
    if not r.tracker.quorum_active(r.id):
        # We may be partitioned away: stop serving so a new leader can take over.
        r.become_follower(r.term, NONE)
    for nid, pr in r.tracker.progress.items():
        if nid != r.id:
            pr.recent_active = False


def _propose(r: Raft, m: Message) -> None:
    if not m.entries:
        raise ValueError("empty proposal")
    if r.id not in r.tracker.progress:
        raise ProposalDroppedError("this leader was removed from the configuration")
    if r.lead_transferee != NONE:
        raise ProposalDroppedError(f"leadership is moving to {r.lead_transferee}")
    ents = m.entries
    for i, e in enumerate(ents):
        if e.type == EntryType.CONF_CHANGE:
            if r.pending_conf_index > r.log.applied:
                raise ProposalDroppedError("a configuration change is still being applied")
            r.pending_conf_index = r.log.last_index() + i + 1
    append_entry(r, ents)
    if m.frm not in (NONE, r.id):
        r.forwarded[m.frm] = r.log.last_index()  # its client waits for the commit
    r.appends_due = True  # sent at the next Ready with every other proposal of the turn


def _read_index(r: Raft, m: Message) -> None:
    if r.log.term_or_zero(r.log.committed) != r.term:
        # Our commit index may lag the previous leader's until an entry of our own
        # term commits; answer then (see release_pending_reads).
        r.pending_reads.append(m)
        return
    if r.tracker.is_singleton() or r.read_only_lease_based:
        _answer_read(r, m, r.log.committed)
        return
    r.read_only.add_request(r.log.committed, m)
    r.read_only.recv_ack(r.id, m.context)
    bcast_heartbeat(r, m.context)


def _answer_read(r: Raft, req: Message, index: int) -> None:
    if req.frm in (NONE, r.id):
        r.read_states.append(ReadState(index=index, request_ctx=req.context))
    else:
        r.send(Message(MT.READ_INDEX_RESP, to=req.frm, index=index, context=req.context))


def release_pending_reads(r: Raft) -> None:
    if not r.pending_reads or r.log.term_or_zero(r.log.committed) != r.term:
        return
    waiting, r.pending_reads = r.pending_reads, []
    for m in waiting:
        _read_index(r, m)


# -- peer responses ---------------------------------------------------------------


def _on_append_resp(r: Raft, m: Message, pr: Progress) -> None:
    pr.recent_active = True
    if m.reject:
        probe = m.reject_hint
        if m.log_term > 0:
            # Skip every index whose term is above the follower's term at the hint.
            probe, _ = r.log.find_conflict_by_term(m.reject_hint, m.log_term)
        if pr.maybe_decr_to(m.index, probe):
            if pr.state == ProgressState.REPLICATE:
                pr.become_probe()
            send_append(r, m.frm)
        return
    was_paused = pr.is_paused()
    if not pr.maybe_update(m.index):
        return
    if pr.state == ProgressState.PROBE:
        pr.become_replicate()
    elif pr.state == ProgressState.SNAPSHOT and pr.match >= pr.pending_snapshot:
        pr.become_probe()
        pr.become_replicate()
    elif pr.state == ProgressState.REPLICATE:
        pr.inflights.free_le(m.index)
    if maybe_commit(r):
        r.appends_due = True  # bcast_pending tells every follower, this one included
    elif was_paused:
        send_append(r, m.frm)
    sent = False
    while maybe_send_append(r, m.frm, send_if_empty=False):
        sent = True
    if not sent and not r.appends_due and _commit_is_news(r, pr) and _holds_all_sent(pr):
        _tell_commit(r, m.frm, pr)  # it held an older commit while its entries were in flight
    if m.frm == r.lead_transferee and pr.match == r.log.last_index():
        r.send(Message(MT.TIMEOUT_NOW, to=m.frm))


def _on_heartbeat_resp(r: Raft, m: Message, pr: Progress) -> None:
    pr.recent_active = True
    pr.probe_sent = False
    if pr.state == ProgressState.REPLICATE and pr.inflights.full():
        # The follower is alive: let one more append through so a lost one is retried.
        pr.inflights.free_first_one()
    if pr.match < r.log.last_index():
        send_append(r, m.frm)
    if r.read_only_lease_based or not m.context:
        return
    acks = r.read_only.recv_ack(m.frm, m.context)
    if acks is None or quorum.vote_result(r.tracker.voters, acks) != VoteResult.WON:
        return
    for status in r.read_only.advance(m.context):
        _answer_read(r, status.req, status.index)


def _on_snap_status(r: Raft, m: Message, pr: Progress) -> None:
    if pr.state != ProgressState.SNAPSHOT:
        return
    if m.reject:
        pr.pending_snapshot = 0
    pr.become_probe()
    # Wait for the follower's append response (or a heartbeat) before probing.
    pr.probe_sent = True


def _on_unreachable(r: Raft, m: Message, pr: Progress) -> None:
    if pr.state == ProgressState.REPLICATE:
        pr.become_probe()  # appends in flight were probably lost


def _on_transfer_leader(r: Raft, m: Message, pr: Progress) -> None:
    if pr.is_learner:
        return
    transferee = m.frm
    if r.lead_transferee != NONE:
        if r.lead_transferee == transferee:
            return
        r.abort_leader_transfer()
    if transferee == r.id:
        return
    r.election_elapsed = 0  # the transfer must finish within one election timeout
    r.lead_transferee = transferee
    if pr.match == r.log.last_index():
        r.send(Message(MT.TIMEOUT_NOW, to=transferee))
    else:
        send_append(r, transferee)


_PEER_HANDLERS = {
    MT.APP_RESP: _on_append_resp,
    MT.HEARTBEAT_RESP: _on_heartbeat_resp,
    MT.SNAP_STATUS: _on_snap_status,
    MT.UNREACHABLE: _on_unreachable,
    MT.TRANSFER_LEADER: _on_transfer_leader,
}


# -- replication ------------------------------------------------------------------


def append_entry(r: Raft, ents: list[Entry]) -> None:
    last = r.log.last_index()
    for i, e in enumerate(ents):
        e.term = r.term
        e.index = last + 1 + i
    # Our own entries count toward commit only once the driver reports them durable
    # (on_persisted): the appends may go out before our own fsync (Ready.send_first).
    # Alone in the configuration (no learner either), with no change to it pending,
    # nobody can hear of the commit before that fsync (the Ready that persists them
    # is applied only once persisted), so a lone write commits at once: one Ready,
    # not two. A pending change could add a peer before they are persisted, and tell
    # it. While earlier entries are on their way to disk, later ones wait as before:
    # they commit when the next Ready is taken, and are applied while it syncs.
    idle = not r.log.unstable.entries
    r.log.append(ents)
    if idle and len(r.tracker.progress) == 1 and r.pending_conf_index <= r.log.applied:
        on_persisted(r, r.log.last_index())


def on_persisted(r: Raft, index: int) -> None:
    """Entries up to ``index`` of this leader's log are durable here."""
    me = r.tracker.progress.get(r.id)
    if me is not None and me.maybe_update(index) and maybe_commit(r):
        r.appends_due = True


def maybe_commit(r: Raft) -> bool:
    if r.log.maybe_commit(r.tracker.committed(), r.term):
        release_pending_reads(r)
        return True
    return False


def send_append(r: Raft, to: int) -> None:
    maybe_send_append(r, to, send_if_empty=True)


def maybe_send_append(r: Raft, to: int, send_if_empty: bool) -> bool:
    """Send `to` the entries it lacks, or a snapshot if they are compacted. False if
    nothing was sent (paused, or nothing new and send_if_empty is False)."""
    pr = r.tracker.progress[to]
    if pr.is_paused():
        return False
    try:
        prev_term = r.log.term(pr.next - 1)
        ents = r.log.entries(pr.next, r.max_msg_size)
    except CompactedError:
        return _send_snapshot(r, to, pr)
    if not ents and not send_if_empty:
        return False
    index = pr.next - 1
    r.send(
        Message(
            MT.APP,
            to=to,
            index=index,
            log_term=prev_term,
            entries=ents,
            commit=r.log.committed,
        )
    )
    # What the follower may commit from it: no further than the entries it carries.
    pr.sent_commit = max(pr.sent_commit, min(r.log.committed, index + len(ents)))
    if ents:
        last = ents[-1].index
        if pr.state == ProgressState.REPLICATE:
            pr.optimistic_update(last)
            pr.inflights.add(last)
        elif pr.state == ProgressState.PROBE:
            pr.probe_sent = True
    return True


def _send_snapshot(r: Raft, to: int, pr: Progress) -> bool:
    if not pr.recent_active:
        return False  # it may be down; don't ship a snapshot into the void
    try:
        snap = r.log.snapshot()
    except SnapshotTemporarilyUnavailableError:
        return False
    if snap.is_empty():
        raise AssertionError("log compacted but storage has no snapshot")
    r.send(Message(MT.SNAP, to=to, snapshot=snap))
    pr.become_snapshot(snap.metadata.index)
    return True


def bcast_append(r: Raft) -> None:
    for nid in r.tracker.ids():
        if nid != r.id:
            send_append(r, nid)


def bcast_pending(r: Raft) -> None:
    """Each follower gets the entries it lacks. One that holds them all but not the
    newest commit index it can use gets that index: a COMMIT when it is replicating,
    an empty append while probing. One still owing answers hears it after answering,
    unless a membership change just committed: that may remove it before it answers,
    and a removed member must still learn that its removal is committed."""
    conf_change_committed = r.log.applied < r.pending_conf_index <= r.log.committed
    for nid in r.tracker.ids():
        if nid == r.id:
            continue
        sent = False
        while maybe_send_append(r, nid, send_if_empty=False):
            sent = True
        pr = r.tracker.progress[nid]
        if sent or not _commit_is_news(r, pr):
            continue
        if pr.state != ProgressState.REPLICATE or conf_change_committed:
            maybe_send_append(r, nid, send_if_empty=True)
        elif _holds_all_sent(pr):
            _tell_commit(r, nid, pr)  # only the commit index is news
        # else entries are in flight to it: its answer brings the commit (_on_append_resp)


def _commit_is_news(r: Raft, pr: Progress) -> bool:
    """Could the follower use a newer commit index than it was last sent?"""
    return min(r.log.committed, pr.next - 1) > pr.sent_commit


def _holds_all_sent(pr: Progress) -> bool:
    return pr.state == ProgressState.REPLICATE and pr.match == pr.next - 1


def _tell_commit(r: Raft, to: int, pr: Progress) -> None:
    """Tell a follower that holds every entry sent to it how far they are committed: in
    a COMMIT, which the driver may hold back (kvcore.raft.commit_hold), or in an empty
    append, sent at once, when a client waits on the follower for a proposal it
    forwarded."""
    waiting = r.forwarded.get(to)
    if waiting is not None and min(r.log.committed, pr.match) >= waiting:
        del r.forwarded[to]
        maybe_send_append(r, to, send_if_empty=True)
    else:
        send_commit(r, to, pr)


def send_commit(r: Raft, to: int, pr: Progress) -> None:
    """Tell a follower that holds every entry sent to it how far they are committed."""
    commit = min(r.log.committed, pr.match)
    r.send(Message(MT.COMMIT, to=to, index=pr.match, log_term=r.log.term(pr.match), commit=commit))
    pr.sent_commit = commit


def bcast_heartbeat(r: Raft, ctx: bytes | None = None) -> None:
    if ctx is None:
        # Re-ask for the newest pending read, in case its first round was lost.
        ctx = r.read_only.last_pending_ctx()
    for nid in r.tracker.ids():
        if nid == r.id:
            continue
        pr = r.tracker.progress[nid]
        # Never tell a follower to commit past what it is known to hold.
        commit = min(pr.match, r.log.committed)
        pr.sent_commit = max(pr.sent_commit, commit)
        r.send(Message(MT.HEARTBEAT, to=nid, commit=commit, context=ctx))
