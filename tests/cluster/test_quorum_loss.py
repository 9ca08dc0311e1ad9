"""A member cut off from the quorum: linearizable reads fail, never stale; serializable
reads answer; ``hasleader: true`` fails fast with "no leader"; the quorum comes back."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import pytest
from support.cluster import ELECTION_MS, KvcoreCluster, Member, poll
from support.rawclient import Outcome, RpcFailure

from kvcore.api.etcdserverpb import rpc_pb2, rpc_pb2_grpc

pytestmark = pytest.mark.kvcore

KEY = b"quorum/key"
REQUEST_TIMEOUT = 2.0  # the members' limits.request_timeout, seconds
# What etcd answers a linearizable read it cannot serve.
NO_QUORUM = {
    RpcFailure("UNAVAILABLE", "etcdserver: request timed out"),
    RpcFailure("UNAVAILABLE", "etcdserver: no leader"),
}
NO_LEADER = RpcFailure("UNAVAILABLE", "etcdserver: no leader")
NOTICE_SECONDS = 5 * ELECTION_MS / 1000
FAST_SECONDS = 0.5


def timed_get(
    member: Member, serializable: bool = False, metadata: list[tuple[str, str]] | None = None
) -> tuple[Outcome, float]:
    request = rpc_pb2.RangeRequest(key=KEY, serializable=serializable)
    with member.client() as client:
        started = time.monotonic()
        outcome = client.call("Range", request, REQUEST_TIMEOUT + 3, metadata)
        return outcome, time.monotonic() - started


def value(outcome: Outcome) -> bytes | None:
    assert not isinstance(outcome, RpcFailure), outcome
    kvs = outcome.kvs  # type: ignore[attr-defined]
    return kvs[0].value if kvs else None


def check_serves_again(survivor: Member, latest: bytes) -> None:
    """The quorum is back: the survivor's next linearizable read sees the latest write."""
    outcome, took = timed_get(survivor)
    assert not isinstance(outcome, RpcFailure), (
        f"first linearizable read on {survivor.name} once the quorum was back: "
        f"{outcome} after {took:.2f}s"
    )
    assert value(outcome) == latest


def put(member: Member, data: bytes) -> None:
    with member.client() as client:
        client.ok("Put", rpc_pb2.PutRequest(key=KEY, value=data))


def check_cut_off(survivor: Member, stale: bytes) -> None:
    outcome, took = timed_get(survivor)
    assert outcome in NO_QUORUM, f"linearizable read without quorum answered {outcome}"
    assert took < REQUEST_TIMEOUT + 1.0, f"linearizable read failed only after {took:.2f}s"
    assert value(timed_get(survivor, serializable=True)[0]) == stale

    def no_leader() -> float | None:
        outcome, took = timed_get(survivor, metadata=[("hasleader", "true")])
        return took if outcome == NO_LEADER else None

    took = poll("the survivor to notice it has no leader", no_leader, NOTICE_SECONDS)
    assert took < FAST_SECONDS, f"hasleader read failed only after {took:.2f}s"
    # A write waits for a leader until the request timeout, then fails with Go's
    # context error, as etcd's does.
    with survivor.client() as client:
        outcome = client.call("Put", rpc_pb2.PutRequest(key=KEY, value=b"x"), REQUEST_TIMEOUT + 3)
    assert outcome == RpcFailure("UNKNOWN", "context deadline exceeded")


@pytest.fixture
def cluster(make_kvcore_cluster: Callable[..., KvcoreCluster]) -> KvcoreCluster:
    return make_kvcore_cluster(limits={"request_timeout": REQUEST_TIMEOUT})


def test_leader_left_alone(cluster: KvcoreCluster) -> None:
    survivor = cluster.wait_leader()
    put(survivor, b"v1")
    others = [m for m in cluster.members.values() if m is not survivor]
    for member in others:
        member.stop()
    check_cut_off(survivor, b"v1")

    cluster.start_members(others)
    cluster.wait_published()
    put(cluster.wait_leader(), b"v2")
    check_serves_again(survivor, b"v2")


def test_stale_member_restarted_alone(cluster: KvcoreCluster) -> None:
    """The survivor misses a write, then restarts while the other two are down: it holds
    stale data that a linearizable read must never return."""
    survivor = next(m for m in cluster.members.values() if m is not cluster.wait_leader())
    put(survivor, b"v1")
    survivor.stop()
    put(cluster.wait_leader(), b"v2")
    others = cluster.live()
    for member in others:
        member.stop()
    survivor.start()
    check_cut_off(survivor, b"v1")

    cluster.start_members(others)
    cluster.wait_published()
    check_serves_again(survivor, b"v2")


def test_a_stream_that_asked_for_a_leader_ends_when_the_member_loses_it(
    cluster: KvcoreCluster,
) -> None:
    """As etcd's monitorLeader: a watch made with ``hasleader`` (etcdctl watch, clientv3's
    WithRequireLeader) ends with "no leader" a few election timeouts after the member
    is cut off; one made without it stays open."""
    survivor = cluster.wait_leader()
    with grpc.insecure_channel(survivor.endpoint) as channel:
        stub = rpc_pb2_grpc.WatchStub(channel)
        create = rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=KEY))
        led = stub.Watch(iter([create]), metadata=[("hasleader", "true")], timeout=30)
        plain = stub.Watch(iter([create]), timeout=NOTICE_SECONDS + 3)
        assert next(led).created and next(plain).created
        for member in cluster.members.values():
            if member is not survivor:
                member.stop()
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as ended:
            next(led)
        assert (ended.value.code(), ended.value.details()) == (
            grpc.StatusCode.UNAVAILABLE,
            "etcdserver: no leader",
        )
        assert time.monotonic() - started < NOTICE_SECONDS + 2
        with pytest.raises(grpc.RpcError) as still_open:
            next(plain)
        # Ended by its deadline alone: the client's own timer, or the server's, which
        # ends a stream as etcd's does (Unknown "context deadline exceeded").
        code, details = still_open.value.code(), still_open.value.details()
        assert code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN), details
        assert "deadline exceeded" in details.lower(), details
