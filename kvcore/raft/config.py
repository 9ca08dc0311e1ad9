"""How one raft member is configured."""

from __future__ import annotations

import random
from dataclasses import dataclass

from kvcore.raft.storage import Storage


@dataclass(kw_only=True)
class Config:
    """id: this member's non-zero id.
    election_tick: ticks without hearing from a leader before campaigning; the actual
      timeout is drawn from [election_tick, 2*election_tick) with rng, per term.
    heartbeat_tick: ticks between leader heartbeats; must be < election_tick.
    storage: the log as persisted so far (see storage.Storage).
    applied: index the application has already applied (0 on a fresh start); raft will
      not hand out committed entries at or below it again after a restart.
    max_size_per_msg: byte bound for entries in one APP message (and one Ready's
      committed_entries); at least one entry is always sent.
    max_inflight_msgs: APP messages in flight to one follower in replicate state.
    check_quorum: a leader that has not heard from a quorum for election_tick ticks
      steps down, and followers ignore votes while they have a live leader.
    pre_vote: run a pre-election that does not bump terms before a real one, so a
      rejoining partitioned member cannot disrupt the cluster.
    read_only_lease_based: answer ReadIndex from the leader's lease instead of a
      heartbeat round; relies on bounded clock drift. Needs check_quorum.
    rng: source of election timeout jitter; defaults to random.Random(id) so runs are
      deterministic.
    """

    id: int
    storage: Storage
    election_tick: int = 10
    heartbeat_tick: int = 1
    applied: int = 0
    max_size_per_msg: int = 1 << 20
    max_inflight_msgs: int = 256
    check_quorum: bool = True
    pre_vote: bool = True
    read_only_lease_based: bool = False
    rng: random.Random | None = None

    def validate(self) -> None:
        if self.id == 0:
            raise ValueError("id 0 is reserved for 'none'")
        if self.heartbeat_tick <= 0:
            raise ValueError("heartbeat_tick must be positive")
        if self.election_tick <= self.heartbeat_tick:
            raise ValueError("election_tick must be greater than heartbeat_tick")
        if self.max_inflight_msgs <= 0:
            raise ValueError("max_inflight_msgs must be positive")
        if self.read_only_lease_based and not self.check_quorum:
            raise ValueError("read_only_lease_based needs check_quorum")
