"""Read-only snapshots of a node's state for the driver, for metrics and for tests."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from kvcore.raft.progress import ProgressState
from kvcore.raft.types import HardState


class Role(enum.Enum):
    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre-candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass(slots=True, frozen=True)
class SoftState:
    """Volatile state: nothing to persist, but the driver wants to know of changes."""

    lead: int
    role: Role


@dataclass(slots=True, frozen=True)
class ProgressStatus:
    match: int
    next: int
    state: ProgressState
    is_learner: bool
    recent_active: bool


@dataclass(slots=True)
class Status:
    id: int
    hard_state: HardState
    soft_state: SoftState
    applied: int
    voters: list[int]
    learners: list[int]
    lead_transferee: int
    progress: dict[int, ProgressStatus] = field(default_factory=dict)  # leader only
