"""A three-member cluster elects one leader, and every member says so."""

from __future__ import annotations

import pytest
from support.cluster import KvcoreCluster

pytestmark = pytest.mark.kvcore


def test_one_leader_seen_by_all(kvcore_cluster: KvcoreCluster) -> None:
    statuses = kvcore_cluster.etcdctl().json("endpoint", "status")
    assert len(statuses) == 3
    views = {(s["Status"]["leader"], s["Status"]["raftTerm"]) for s in statuses}
    assert len(views) == 1, f"members disagree on (leader, term): {statuses}"
    leader_id, term = views.pop()
    member_ids = [s["Status"]["header"]["member_id"] for s in statuses]
    assert len(set(member_ids)) == 3
    assert member_ids.count(leader_id) == 1
    assert term > 0
    assert kvcore_cluster.member_id(kvcore_cluster.wait_leader()) == leader_id


def test_member_list_shows_started_members(kvcore_cluster: KvcoreCluster) -> None:
    members = kvcore_cluster.etcdctl().json("member", "list")["members"]
    by_name = {m.get("name", ""): m for m in members}
    assert sorted(by_name) == sorted(kvcore_cluster.members)
    for name, member in kvcore_cluster.members.items():
        listed = by_name[name]
        assert listed["ID"] == kvcore_cluster.member_id(member)
        assert listed["clientURLs"] == [f"http://{member.endpoint}"]
        assert listed["peerURLs"] == [member.peer_url]
        assert not listed.get("isLearner", False)
