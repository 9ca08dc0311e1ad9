"""The values that flow into and out of the raft core.

They mirror etcd-io/raft's raftpb: plain, immutable-by-convention dataclasses with
no I/O. The WAL persists Entry and HardState; the peer transport carries Message.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

NONE = 0  # "no node": no leader known, no vote cast


class EntryType(enum.IntEnum):
    NORMAL = 0
    CONF_CHANGE = 1


@dataclass(slots=True)
class Entry:
    term: int
    index: int
    type: EntryType = EntryType.NORMAL
    data: bytes = b""


@dataclass(slots=True)
class HardState:
    """What a member must persist before it answers: its term, its vote, its commit."""

    term: int = 0
    vote: int = NONE
    commit: int = 0

    def is_empty(self) -> bool:
        return self.term == 0 and self.vote == NONE and self.commit == 0


@dataclass(slots=True)
class ConfState:
    voters: list[int] = field(default_factory=list)
    learners: list[int] = field(default_factory=list)


@dataclass(slots=True)
class SnapshotMetadata:
    index: int = 0
    term: int = 0
    conf_state: ConfState = field(default_factory=ConfState)


@dataclass(slots=True)
class Snapshot:
    metadata: SnapshotMetadata = field(default_factory=SnapshotMetadata)
    data: bytes = b""

    def is_empty(self) -> bool:
        return self.metadata.index == 0


class ConfChangeType(enum.IntEnum):
    ADD_NODE = 0
    REMOVE_NODE = 1
    ADD_LEARNER_NODE = 2


@dataclass(slots=True)
class ConfChange:
    type: ConfChangeType
    node_id: int
    context: bytes = b""
