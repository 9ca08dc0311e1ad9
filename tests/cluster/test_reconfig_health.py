"""Membership changes with members down, against a three-member etcd.

With one member down, the strict reconfiguration check's connectivity half refuses
with "unhealthy cluster" what would leave a quorum that needs the dead member (adding
one, removing a live voter); removing the dead one is allowed. Promotions are judged
by the leader, in etcd's order. With two down, every
change waits for a quorum until the client gives up."""

from __future__ import annotations

import re
import time

import pytest
from support.cluster import Cluster, EtcdCluster, KvcoreCluster
from support.ports import free_port

from kvcore.server.peer_health import HEALTH_INTERVAL_SECONDS

from .oracle import Tokens

pytestmark = [pytest.mark.kvcore, pytest.mark.etcd]

# A kill -9 closes the member's connections at once; the others notice within this.
NOTICED_SECONDS = 1.0
UNKNOWN_ID = "1"
# Puts that leave a stopped member's log under 90 % of the leader's (not "in sync").
BEHIND_BY_PUTS = 30
# etcd waits for a membership change as long as the client does: this long.
QUICK = ("--command-timeout=2s",)
# How a change that waited out the client's deadline fails: on the client's side, or on
# etcd's, as the proposal timed out or as the server's copy of the deadline passed.
GAVE_UP = {
    "Error: context deadline exceeded",
    "Error: etcdserver: request timed out",
    "Error: rpc error: code = Unknown desc = context deadline exceeded",
}


def outcomes(cluster: Cluster, tokens: Tokens) -> list[tuple[int, str, list[str]]]:
    """Kill a follower; try each change through the leader."""
    leader = cluster.wait_leader()
    dead, live = [m for m in cluster.members.values() if m is not leader]
    dead_id, live_id = (f"{cluster.member_id(m):x}" for m in (dead, live))
    dead.kill9()
    time.sleep(NOTICED_SECONDS)
    ctl = cluster.etcdctl([leader])
    peer = f"--peer-urls=http://127.0.0.1:{free_port()}"
    for i in range(BEHIND_BY_PUTS):  # so the dead member's log falls behind
        ctl.run("put", f"k{i}", "v").check()
    leader_id = f"{cluster.member_id(leader):x}"
    results = [
        ctl.run("member", "add", "n4", peer),
        ctl.run("member", "add", "n4", peer, "--learner"),
        ctl.run("member", "remove", live_id),
        # How far a member's log is comes first, learner or not.
        ctl.run("member", "promote", dead_id),
        ctl.run("member", "promote", leader_id),
        ctl.run("member", "promote", UNKNOWN_ID),
        ctl.run("member", "remove", dead_id),
    ]
    # stderr's last line is the error; those before it, etcdctl's retry log.
    return [(r.code, anonymous(tokens.text(r.stdout)), r.stderr.splitlines()[-1:]) for r in results]


def anonymous(text: str) -> str:
    """Which member was removed depends on which one leads; so does the padding of its
    id (etcdctl prints ids with %16x)."""
    return " ".join(re.sub(r"<id:n\d+>", "<id>", text).split())


def test_changes_that_need_a_dead_member_are_refused_as_etcds(
    kvcore_cluster: KvcoreCluster, etcd_cluster: EtcdCluster
) -> None:
    clusters = (kvcore_cluster, etcd_cluster)
    tokens = [Tokens(cluster) for cluster in clusters]
    time.sleep(HEALTH_INTERVAL_SECONDS + 0.5)  # connections count once up this long
    kvcore, etcd = (outcomes(c, t) for c, t in zip(clusters, tokens, strict=True))
    assert kvcore == etcd
    unhealthy = ["Error: etcdserver: unhealthy cluster"]
    assert [(code, err) for code, _, err in kvcore[:3]] == [(1, unhealthy)] * 3
    assert [err[0][7:] for _, _, err in kvcore[3:6]] == [
        "etcdserver: can only promote a learner member which is in sync with leader",
        "etcdserver: can only promote a learner member",
        "etcdserver: member not found",
    ]
    assert kvcore[6] == (0, "Member <id> removed from cluster <cluster>", [])


def lost_quorum_outcomes(cluster: Cluster) -> list[tuple[int, list[str]]]:
    """Kill both followers; change the members through the leader left alone."""
    leader = cluster.wait_leader()
    dead = [m for m in cluster.members.values() if m is not leader]
    dead_id = f"{cluster.member_id(dead[0]):x}"
    for member in dead:
        member.kill9()
    ctl = cluster.etcdctl([leader])
    peer = f"--peer-urls=http://127.0.0.1:{free_port()}"
    results = [
        ctl.run(*QUICK, "member", "remove", UNKNOWN_ID),
        ctl.run(*QUICK, "member", "update", UNKNOWN_ID, peer),
        ctl.run(*QUICK, "member", "remove", dead_id),
    ]
    return [(r.code, r.stderr.splitlines()[-1:]) for r in results]


def test_changes_without_a_quorum_wait_as_etcds(
    kvcore_cluster: KvcoreCluster, etcd_cluster: EtcdCluster
) -> None:
    """Even of an unknown member: that is found out when the change applies."""
    for cluster in (kvcore_cluster, etcd_cluster):
        for code, error in lost_quorum_outcomes(cluster):
            assert code == 1 and error[0] in GAVE_UP, (cluster, error)
