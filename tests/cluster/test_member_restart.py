"""A member restarted on its own never serves less than it had applied before it stopped.

With no quorum it learns nothing new, so from its first answer on, a serializable read
must show the revision it served before the clean stop: etcd's backend keeps the
applied state; kvcore must replay its WAL before it answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from support.cluster import KvcoreCluster, Member, poll, serializable_revision

from .reads import last_revision, put_keys, read_prefix

pytestmark = pytest.mark.kvcore

PREFIX = "alone/"
KEYS = 10
WATCH_SECONDS = 1.5  # how long the restarted member's answers are watched
READY_SECONDS = 30.0


def revisions_after_restart_alone(cluster: KvcoreCluster, member: Member) -> list[int]:
    """Stop every member, start ``member`` alone, and collect the revisions it serves
    from its first answer on."""
    for other in cluster.live():
        other.stop()
    member.spawn()
    first = poll("the member's first answer", lambda: serializable_revision(member), READY_SECONDS)
    seen = [first]
    deadline = time.monotonic() + WATCH_SECONDS
    while time.monotonic() < deadline:
        revision = serializable_revision(member)
        if revision is not None:
            seen.append(revision)
    return seen


@pytest.mark.parametrize("engine", ["memory", "lmdb"])
def test_follower_restarted_alone_keeps_applied_state(
    make_kvcore_cluster: Callable[..., KvcoreCluster], engine: str
) -> None:
    cluster = make_kvcore_cluster(engine={"name": engine, "options": {}})
    leader = cluster.wait_leader()
    follower = next(m for m in cluster.members.values() if m is not leader)
    written = put_keys(leader, PREFIX, KEYS)
    poll(
        "the follower to apply the writes",
        lambda: read_prefix(follower, PREFIX, serializable=True) == written or None,
        10,
    )

    seen = revisions_after_restart_alone(cluster, follower)
    served = last_revision(written)
    assert min(seen) == served, (
        f"{follower.name} served revision {served} before a clean stop; restarted alone "
        f"it answered with revisions {sorted(set(seen))} ({len(seen)} reads)"
    )
    assert read_prefix(follower, PREFIX, serializable=True) == written
