"""etcd's strict reconfiguration check, its connectivity half: a membership change is
refused with "unhealthy cluster" when this member has not been connected long enough
to the peers the change relies on. (The other half, members that never started, is
``Membership.ready_to_*``.) A connection counts once it has been up for
``HEALTH_INTERVAL_SECONDS``, as etcd's HealthInterval, so a member that just came up or
just reconnected does not."""

from __future__ import annotations

import time
from typing import Protocol

from kvcore import errors
from kvcore.raft.quorum import majority
from kvcore.server.membership import Membership

HEALTH_INTERVAL_SECONDS = 5.0


class Connections(Protocol):
    """What the check needs of a ``kvcore.transport.PeerNetwork``."""

    def active_since(self, peer_id: int) -> float | None: ...


def check_add(membership: Membership, peers: Connections | None) -> None:
    """Adding a member (voter or learner) needs every voter connected."""
    voters = [m.id for m in membership.voters()]
    if _connected(membership, peers, voters) < len(voters):
        raise errors.UNHEALTHY


def check_remove_voter(membership: Membership, peers: Connections | None, member_id: int) -> None:
    """Removing a voter needs a quorum of the rest still connected. A peer that is down
    now is not part of that quorum, so removing it is always allowed."""
    if member_id != membership.local_id and (
        peers is None or peers.active_since(member_id) is None
    ):
        return
    voters = [m.id for m in membership.voters()]
    # As etcd: the voters after the removal, less one of those counted (the removed).
    if _connected(membership, peers, voters) - 1 < majority(len(voters) - 1):
        raise errors.UNHEALTHY


def _connected(membership: Membership, peers: Connections | None, voters: list[int]) -> int:
    """This member and the voters it has been connected to for the health interval."""
    before = time.monotonic() - HEALTH_INTERVAL_SECONDS
    count = 0
    for member_id in voters:
        if member_id == membership.local_id:
            count += 1
        elif peers is not None and (since := peers.active_since(member_id)) is not None:
            count += since < before
    return count
