"""Starting a brand-new cluster.

Every founding member calls bootstrap(storage, voters) with the same voter list on an
empty storage before creating its RawNode. It writes a snapshot at term 1 carrying the
initial ConfState and empty application data, so all founders start with one identical
committed prefix. Its index is the number of founders: etcd's founders start their logs
with one committed ConfChange per member, so the first leader's entry, and every index
after it, is where etcd has it (clients see the raft index in Status). Members added
later start with an empty storage and receive that (or a newer) snapshot from the
leader, which is how they learn the configuration. A restarting member skips bootstrap
and reopens its storage.
"""

from __future__ import annotations

from kvcore.raft.storage import MemoryStorage
from kvcore.raft.types import ConfState, HardState, Snapshot, SnapshotMetadata

BOOTSTRAP_TERM = 1


def bootstrap_snapshot(voters: list[int], learners: list[int] | None = None) -> Snapshot:
    """The snapshot every founder persists (a durable store may write it itself)."""
    if not voters:
        raise ValueError("a cluster needs at least one voter")
    cs = ConfState(voters=sorted(voters), learners=sorted(learners or []))
    index = len(cs.voters) + len(cs.learners)
    return Snapshot(SnapshotMetadata(index=index, term=BOOTSTRAP_TERM, conf_state=cs))


def bootstrap(storage: MemoryStorage, voters: list[int], learners: list[int] | None = None) -> None:
    """Make an empty MemoryStorage the starting state of a founding member."""
    if storage.last_index() != 0 or not storage.initial_state()[0].is_empty():
        raise ValueError("bootstrap needs an empty storage")
    first = bootstrap_snapshot(voters, learners)
    storage.apply_snapshot(first)
    storage.set_hard_state(HardState(term=BOOTSTRAP_TERM, vote=0, commit=first.metadata.index))
