"""The strict reconfiguration check's connectivity half against a three-member etcd:
with a member down, adding one or removing a live voter would leave a quorum that
needs the dead member, and is refused with "unhealthy cluster"; removing the dead one
is allowed."""

from __future__ import annotations

import time

import pytest
from support.cluster import Cluster, EtcdCluster, KvcoreCluster
from support.ports import free_port

from kvcore.server.peer_health import HEALTH_INTERVAL_SECONDS

from .oracle import Tokens

pytestmark = [pytest.mark.kvcore, pytest.mark.etcd]

# A kill -9 closes the member's connections at once; the others notice within this.
NOTICED_SECONDS = 1.0


def outcomes(cluster: Cluster, tokens: Tokens) -> list[tuple[int, str, list[str]]]:
    """Kill a follower; try each change through the leader."""
    leader = cluster.wait_leader()
    dead, live = [m for m in cluster.members.values() if m is not leader]
    dead_id, live_id = (f"{cluster.member_id(m):x}" for m in (dead, live))
    dead.kill9()
    time.sleep(NOTICED_SECONDS)
    ctl = cluster.etcdctl([leader])
    peer = f"--peer-urls=http://127.0.0.1:{free_port()}"
    results = [
        ctl.run("member", "add", "n4", peer),
        ctl.run("member", "add", "n4", peer, "--learner"),
        ctl.run("member", "remove", live_id),
        ctl.run("member", "remove", dead_id),
    ]
    # stderr's last line is the error; those before it, etcdctl's retry log.
    return [(r.code, tokens.text(r.stdout), r.stderr.splitlines()[-1:]) for r in results]


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
    code, out, _ = kvcore[3]
    assert code == 0 and out.endswith(" removed from cluster <cluster>\n"), kvcore[3]
