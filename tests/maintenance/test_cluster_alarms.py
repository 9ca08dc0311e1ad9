"""Alarms go through raft: one raised by a member's quota check holds on every member,
and disarming it through any member frees writes everywhere."""

from __future__ import annotations

from support.cluster import KvcoreCluster, poll
from support.process import Supervisor

from .nodes import masked

QUOTA_BYTES = 300_000
VALUE = "v" * 10_000
NOSPACE = ["memberID:<id> alarm:NOSPACE "]


def _errors(member) -> list[str]:
    (status,) = member.etcdctl().json("endpoint", "status")
    return [masked(e) for e in status["Status"].get("errors", [])]


def test_nospace_alarm_holds_on_every_member(supervisor: Supervisor, tmp_path) -> None:
    cluster = KvcoreCluster(
        supervisor, tmp_path / "c", 3, limits={"quota_backend_bytes": QUOTA_BYTES}
    )
    try:
        cluster.start()
        leader = cluster.wait_leader()
        follower, other = [m for m in cluster.live() if m is not leader]
        ctl = follower.etcdctl()
        for i in range(100):
            if ctl.run("put", f"fill/{i:03d}", VALUE).code != 0:
                break
        for member in cluster.live():
            poll("the alarm on every member", lambda m=member: _errors(m) == NOSPACE or None, 10)
            result = member.etcdctl().run("put", "more", "x")
            assert "database space exceeded" in result.stderr
        listed = other.etcdctl().run("alarm", "list").check().stdout
        assert masked(listed) == "memberID:<id> alarm:NOSPACE \n"
        # The member whose quota check raised it is the one named.
        assert listed.split()[0] == f"memberID:{cluster.member_id(follower)}"

        ctl.run("del", "fill/", "--prefix").check()
        revision = ctl.json("get", "x")["header"]["revision"]
        ctl.run("compact", "--physical", str(revision)).check()
        for member in cluster.live():
            member.etcdctl().run("defrag").check()
        other.etcdctl().run("alarm", "disarm").check()
        for member in cluster.live():
            poll("the alarm gone everywhere", lambda m=member: _errors(m) == [] or None, 10)
            member.etcdctl().run("put", "more", "x").check()
    finally:
        cluster.stop_all()
