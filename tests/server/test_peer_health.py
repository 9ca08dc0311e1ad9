"""The connectivity half of the strict reconfiguration check, with a peer network
whose connections came up when the test says."""

from __future__ import annotations

import time

import pytest

from kvcore import errors
from kvcore.server import peer_health
from kvcore.server.membership import Member, Membership

LONG_AGO = 2 * peer_health.HEALTH_INTERVAL_SECONDS


class Connections:
    """A PeerNetwork's ``active_since``: peer id -> seconds its connection has been up."""

    def __init__(self, up_for: dict[int, float]) -> None:
        self._since = {peer: time.monotonic() - seconds for peer, seconds in up_for.items()}

    def active_since(self, peer_id: int) -> float | None:
        return self._since.get(peer_id)


def table(voters: int, learners: int = 0) -> Membership:
    """Member 1 is this one; voters 1..n, then learners."""
    members = {
        i: Member(i, f"n{i}", [f"http://127.0.0.1:{i}"], is_learner=i > voters)
        for i in range(1, voters + learners + 1)
    }
    return Membership(1, 99, members)


def test_adding_needs_every_voter_connected_for_the_interval() -> None:
    peer_health.check_add(table(3), Connections({2: LONG_AGO, 3: LONG_AGO}))
    peer_health.check_add(table(3, learners=1), Connections({2: LONG_AGO, 3: LONG_AGO}))
    for up_for in ({2: LONG_AGO}, {2: LONG_AGO, 3: 1.0}):
        with pytest.raises(errors.EtcdError) as refused:
            peer_health.check_add(table(3), Connections(up_for))
        assert refused.value is errors.UNHEALTHY


def test_a_lone_member_adds_without_peers() -> None:
    peer_health.check_add(table(1), None)


def test_removing_a_voter_needs_a_quorum_of_the_rest_connected() -> None:
    down_3 = Connections({2: LONG_AGO})
    with pytest.raises(errors.EtcdError) as refused:
        peer_health.check_remove_voter(table(3), down_3, 2)
    assert refused.value is errors.UNHEALTHY
    peer_health.check_remove_voter(table(3), down_3, 3)  # the one that is down
    four_of_five = Connections({2: LONG_AGO, 3: LONG_AGO, 4: LONG_AGO, 5: 1.0})
    peer_health.check_remove_voter(table(5), four_of_five, 2)
    with pytest.raises(errors.EtcdError):
        peer_health.check_remove_voter(table(5), Connections({2: LONG_AGO, 3: LONG_AGO, 4: 1.0}), 2)


def test_removing_itself_counts_itself_out() -> None:
    peer_health.check_remove_voter(table(3), Connections({2: LONG_AGO, 3: LONG_AGO}), 1)
    with pytest.raises(errors.EtcdError):
        peer_health.check_remove_voter(table(3), Connections({2: LONG_AGO}), 1)
