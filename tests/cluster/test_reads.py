"""Linearizable reads on every member at once (what `etcdctl endpoint health` sends)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.cluster import KvcoreCluster, Member
from support.rawclient import RpcFailure

from kvcore.api.etcdserverpb import rpc_pb2

pytestmark = pytest.mark.kvcore

REQUEST_TIMEOUT = 2.0
ROUNDS = 5
FAST_SECONDS = 1.0


def timed_read(member: Member) -> tuple[str, str, float]:
    with member.client() as client:
        started = time.monotonic()
        outcome = client.call("Range", rpc_pb2.RangeRequest(key=b"health"), REQUEST_TIMEOUT + 3)
        took = time.monotonic() - started
    return member.name, str(outcome) if isinstance(outcome, RpcFailure) else "ok", took


def test_concurrent_reads_on_every_member(
    make_kvcore_cluster: Callable[..., KvcoreCluster],
) -> None:
    cluster = make_kvcore_cluster(limits={"request_timeout": REQUEST_TIMEOUT})
    members = list(cluster.members.values())
    slow = []
    with ThreadPoolExecutor(len(members)) as pool:
        for round_ in range(ROUNDS):
            for name, outcome, took in pool.map(timed_read, members):
                if outcome != "ok" or took > FAST_SECONDS:
                    slow.append(f"round {round_}: {name}: {outcome} after {took:.2f}s")
    assert not slow, "linearizable reads sent to several members at once:\n" + "\n".join(slow)
