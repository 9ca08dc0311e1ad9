"""The member table's rules that run before a change is proposed: peer URLs as etcd's
NewURLs takes them, and etcd's strict reconfiguration check."""

from __future__ import annotations

import pytest

from kvcore import errors
from kvcore.server.membership import Member, Membership, parse_peer_urls


@pytest.mark.parametrize(
    ("urls", "taken"),
    [
        ([" http://b:2 ", "http://a:1"], ["http://a:1", "http://b:2"]),
        (["https://[::1]:2380"], ["https://[::1]:2380"]),
        (["http://127.0.0.1:99999"], ["http://127.0.0.1:99999"]),  # a port is any text
        (["unix://sock:1"], ["unix://sock:1"]),
    ],
)
def test_peer_urls_taken(urls: list[str], taken: list[str]) -> None:
    assert parse_peer_urls(urls) == taken


@pytest.mark.parametrize(
    "urls",
    [
        [],
        ["127.0.0.1:2380"],
        ["ftp://a:1"],
        ["http://a"],
        ["http://a:1/path"],
        ["http://a:1/"],
        ["http://a:b:1"],
        ["http://[::1]"],
        ["http://a:1", "bad url"],
    ],
)
def test_peer_urls_refused(urls: list[str]) -> None:
    with pytest.raises(errors.EtcdError) as caught:
        parse_peer_urls(urls)
    assert caught.value is errors.MEMBER_BAD_URLS


def _table(*members: tuple[int, bool, bool]) -> Membership:
    """Members as (id, started, learner)."""
    return Membership(
        1,
        9,
        {
            mid: Member(mid, f"m{mid}" if started else "", [f"http://h:{mid}"], is_learner=learner)
            for mid, started, learner in members
        },
    )


def test_a_lone_member_gets_a_second_voter_but_cannot_leave() -> None:
    table = _table((1, True, False))
    assert table.ready_to_add_voter()
    assert not table.ready_to_remove_voter(1)
    assert table.ready_to_remove_voter(2)  # no such member: the rest still has a quorum


def test_a_voter_that_never_started_blocks_the_next_change() -> None:
    table = _table((1, True, False), (2, False, False))
    assert not table.ready_to_add_voter()
    assert not table.ready_to_remove_voter(7)
    assert table.ready_to_remove_voter(2)  # removing the one that never started is fine


def test_learners_do_not_count() -> None:
    table = _table((1, True, False), (2, True, False), (3, True, False), (4, False, True))
    assert table.ready_to_add_voter()
    assert table.ready_to_remove_voter(3)
    assert table.ready_to_promote()
    assert not _table((1, True, False), (2, False, False), (3, False, False)).ready_to_promote()
