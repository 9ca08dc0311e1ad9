"""Leases on a three-member kvcore cluster: followers forward KeepAlive and TimeToLive to
the leader (and answer etcd's "no leader" without one), a member restored from a
snapshot knows the leases and their keys, and a leader's death does not expire a lease
kept alive."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from cluster.reads import put_keys
from support.cluster import KvcoreCluster, poll
from support.rawclient import RpcFailure
from support.servers import Server

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .client import keep_alive

pytestmark = pytest.mark.kvcore


def a_follower(cluster: KvcoreCluster) -> Server:
    leader = cluster.wait_leader()
    return next(m for m in cluster.live() if m is not leader)


def exists(member: Server, key: bytes) -> bool:
    with member.client() as client:
        found = client.call("Range", pb.RangeRequest(key=key, serializable=True))
    return not isinstance(found, RpcFailure) and found.count == 1


def test_follower_forwards_keep_alive_and_time_to_live_to_the_leader(
    make_kvcore_cluster: Callable[..., KvcoreCluster],
) -> None:
    cluster = make_kvcore_cluster(
        limits={"request_timeout": 2.0}, snapshot={"count": 20, "catchup_entries": 5}
    )
    leader = cluster.wait_leader()
    follower, behind = (m for m in cluster.live() if m is not leader)
    behind.stop()  # it will catch up from a snapshot that holds the lease
    with follower.client() as client:
        lease = client.ok("LeaseGrant", pb.LeaseGrantRequest(TTL=30)).ID
        client.ok("Put", pb.PutRequest(key=b"f/a", value=b"1", lease=lease))
        client.ok("Put", pb.PutRequest(key=b"f/b", value=b"2", lease=lease))
        answers = keep_alive(follower.endpoint, [lease, 404, lease])
        assert not isinstance(answers, RpcFailure), answers
        assert [(a.ID, a.TTL) for a in answers] == [(lease, 30), (404, 0), (lease, 30)]
        ttl = client.ok("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=lease, keys=True))
        assert (ttl.ID, ttl.grantedTTL, sorted(ttl.keys)) == (lease, 30, [b"f/a", b"f/b"])
        assert 25 <= ttl.TTL <= 30
        assert ttl.header.member_id == cluster.member_id(follower)  # it answers
        unknown = client.ok("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=404))
        assert (unknown.ID, unknown.TTL) == (404, -1)
    put_keys(leader, "f/filler/", 40)

    behind.start()
    cluster.wait_converged()
    assert "restored from the leader's snapshot" in behind.process.log()
    with behind.client() as client:
        listed = client.ok("LeaseLeases", pb.LeaseLeasesRequest())
        assert [status.ID for status in listed.leases] == [lease]
        # Each member deletes the keys its own lessor has attached: the restored member
        # must know them too.
        client.ok("LeaseRevoke", pb.LeaseRevokeRequest(ID=lease))
        lease = client.ok("LeaseGrant", pb.LeaseGrantRequest(TTL=30)).ID
    cluster.wait_converged()
    assert not any(exists(m, key) for m in cluster.live() for key in (b"f/a", b"f/b"))

    # Without a leader nobody can answer: etcd's "no leader" after the request timeout.
    leader.kill9()
    behind.kill9()
    with follower.client() as client:
        expected = RpcFailure("UNAVAILABLE", "etcdserver: no leader")
        assert keep_alive(follower.endpoint, [lease]) == expected
        assert client.call("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=lease)) == expected


class KeepAliver(threading.Thread):
    """Keeps one lease alive through one member, a call every ``every`` seconds."""

    def __init__(self, endpoint: str, lease: int, every: float) -> None:
        super().__init__(daemon=True)
        self._endpoint = endpoint
        self._lease = lease
        self._every = every
        self._halt = threading.Event()
        self.answers: list[int | RpcFailure] = []

    def run(self) -> None:
        while not self._halt.is_set():
            answer = keep_alive(self._endpoint, [self._lease])
            self.answers.append(answer if isinstance(answer, RpcFailure) else answer[0].TTL)
            self._halt.wait(self._every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


TTL = 3


def test_leader_kill_does_not_expire_a_kept_alive_lease(
    make_kvcore_cluster: Callable[..., KvcoreCluster],
) -> None:
    cluster = make_kvcore_cluster()
    old = cluster.wait_leader()
    follower = a_follower(cluster)
    with follower.client() as client:
        lease = client.ok("LeaseGrant", pb.LeaseGrantRequest(TTL=TTL)).ID
        client.ok("Put", pb.PutRequest(key=b"k/held", value=b"v", lease=lease))
    keeper = KeepAliver(follower.endpoint, lease, every=TTL / 4)
    keeper.start()
    try:
        time.sleep(TTL / 2)
        old.kill9()
        new = cluster.wait_leader()
        assert new is not old
        # Two TTLs past the kill: the lease must hold on every live member throughout.
        until = time.monotonic() + 2 * TTL
        while time.monotonic() < until:
            missing = [m.name for m in cluster.live() if not exists(m, b"k/held")]
            assert not missing, f"the kept-alive key vanished on {missing}"
            time.sleep(0.2)
    finally:
        keeper.stop()
    assert keeper.answers and keeper.answers[-1] == TTL, keeper.answers
    # Kept alive no more: it expires under the new leader.
    poll("the key to go", lambda: not exists(new, b"k/held") or None, TTL + 10)
