"""Messages between raft members, and the local messages that drive one member."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from kvcore.raft.types import Entry, Snapshot


class MessageType(enum.IntEnum):
    HUP = 0  # local: start an election
    BEAT = 1  # local: leader sends heartbeats
    PROP = 2  # proposal, local or forwarded to the leader
    APP = 3
    APP_RESP = 4
    VOTE = 5
    VOTE_RESP = 6
    SNAP = 7
    HEARTBEAT = 8
    HEARTBEAT_RESP = 9
    UNREACHABLE = 10  # local: transport could not reach `frm`
    SNAP_STATUS = 11  # local: result of sending a snapshot to `frm`
    CHECK_QUORUM = 12  # local: leader checks it heard from a quorum
    TRANSFER_LEADER = 13  # local or forwarded: move leadership to `frm`
    TIMEOUT_NOW = 14  # leader tells the transferee to campaign at once
    READ_INDEX = 15  # local or forwarded to the leader
    READ_INDEX_RESP = 16
    PRE_VOTE = 17
    PRE_VOTE_RESP = 18
    # Leader to a follower known to hold its log up to `index` (term `log_term`), with
    # nothing in flight: commit up to `commit`. Unanswered - an append's answer would
    # tell the leader nothing - which saves a message per follower and commit.
    COMMIT = 19


# What only a leader sends: it names the leader, and resets a follower's election timer.
LEADER_TYPES = frozenset(
    {MessageType.APP, MessageType.COMMIT, MessageType.HEARTBEAT, MessageType.SNAP}
)

LOCAL_TYPES = frozenset(
    {
        MessageType.HUP,
        MessageType.BEAT,
        MessageType.UNREACHABLE,
        MessageType.SNAP_STATUS,
        MessageType.CHECK_QUORUM,
    }
)

# Vote requests sent on a leader's TIMEOUT_NOW carry this, so followers that still
# see a live leader (check-quorum lease) grant them anyway.
CAMPAIGN_TRANSFER = b"CampaignTransfer"


class CampaignType(enum.Enum):
    PRE_ELECTION = 0
    ELECTION = 1
    TRANSFER = 2  # on TIMEOUT_NOW: no pre-vote, and vote requests bypass the lease


def vote_response_type(t: MessageType) -> MessageType:
    return MessageType.PRE_VOTE_RESP if t == MessageType.PRE_VOTE else MessageType.VOTE_RESP


@dataclass(slots=True)
class Message:
    """One raft message. Field meaning depends on type, as in etcd's raftpb:

    APP: entries follow (index, log_term); commit is the leader's commit index.
    APP_RESP: index is the last matching index, or the rejected index with
      reject_hint/log_term pointing at where the follower's log may match.
    VOTE/PRE_VOTE: index/log_term describe the candidate's last entry.
    HEARTBEAT(_RESP), READ_INDEX(_RESP): context is the read request's id.
    """

    type: MessageType
    to: int = 0
    frm: int = 0
    term: int = 0
    log_term: int = 0
    index: int = 0
    entries: list[Entry] = field(default_factory=list)
    commit: int = 0
    reject: bool = False
    reject_hint: int = 0
    snapshot: Snapshot | None = None
    context: bytes = b""
