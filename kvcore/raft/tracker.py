"""The leader's view of the cluster: configuration, per-member progress, and votes."""

from __future__ import annotations

from kvcore.raft import quorum
from kvcore.raft.progress import Progress
from kvcore.raft.quorum import VoteResult
from kvcore.raft.types import ConfState


class ProgressTracker:
    def __init__(self, max_inflight: int) -> None:
        self.max_inflight = max_inflight
        self.voters: frozenset[int] = frozenset()
        self.learners: frozenset[int] = frozenset()
        self.progress: dict[int, Progress] = {}
        self.votes: dict[int, bool] = {}

    def conf_state(self) -> ConfState:
        return ConfState(voters=sorted(self.voters), learners=sorted(self.learners))

    def apply_conf(self, cs: ConfState, next_index: int) -> None:
        """Switch to cs. Members that stay keep their progress; new ones start probing
        at next_index and count as recently active so check-quorum gives them time."""
        self.voters = frozenset(cs.voters)
        self.learners = frozenset(cs.learners)
        members = self.voters | self.learners
        for nid in list(self.progress):
            if nid not in members:
                del self.progress[nid]
        for nid in members:
            pr = self.progress.get(nid)
            if pr is None:
                pr = Progress(next_index, self.max_inflight)
                pr.recent_active = True
                self.progress[nid] = pr
            pr.is_learner = nid in self.learners

    def reset_progress(self, next_index: int) -> None:
        """Forget what we knew of every member (a new term starts)."""
        for nid, pr in self.progress.items():
            self.progress[nid] = Progress(next_index, self.max_inflight, pr.is_learner)

    def ids(self) -> list[int]:
        """Member ids in a fixed order, so message order is deterministic."""
        return sorted(self.progress)

    def is_singleton(self) -> bool:
        return len(self.voters) == 1

    def committed(self) -> int:
        progress = self.progress
        return quorum.committed_index(
            self.voters, {v: progress[v].match for v in self.voters if v in progress}
        )

    def quorum_active(self, self_id: int) -> bool:
        active = {nid: (nid == self_id or pr.recent_active) for nid, pr in self.progress.items()}
        return quorum.vote_result(self.voters, active) == VoteResult.WON

    def reset_votes(self) -> None:
        self.votes = {}

    def record_vote(self, nid: int, granted: bool) -> None:
        self.votes.setdefault(nid, granted)  # the first answer from a member counts

    def tally(self) -> VoteResult:
        return quorum.vote_result(self.voters, self.votes)
