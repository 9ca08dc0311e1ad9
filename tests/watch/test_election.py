"""The Election service's Leader and Observe answer as etcd's do (ids aside)."""

from __future__ import annotations

import queue
import threading
import time

import grpc
import pytest
from support.normalize import render
from support.rawclient import RpcFailure
from support.servers import Server

from kvcore.api.etcdserverpb import rpc_pb2
from kvcore.api.v3electionpb import v3election_pb2 as epb
from kvcore.api.v3electionpb import v3election_pb2_grpc

pytestmark = [pytest.mark.etcd, pytest.mark.kvcore]

WAIT_SECONDS = 10.0


def leader(stub: v3election_pb2_grpc.ElectionStub, name: bytes) -> str:
    try:
        return render(stub.Leader(epb.LeaderRequest(name=name), timeout=WAIT_SECONDS))
    except grpc.RpcError as exc:
        return str(RpcFailure(exc.code().name, exc.details() or ""))


def observe_session(server: Server, name: bytes) -> list[str]:
    """Candidates come and go under ``name``; what Leader and Observe answer meanwhile."""
    seen: list[str] = []
    channel = grpc.insecure_channel(server.endpoint)
    stub = v3election_pb2_grpc.ElectionStub(channel)
    seen.append(leader(stub, name))
    call = stub.Observe(epb.LeaderRequest(name=name))
    heard: queue.Queue[epb.LeaderResponse] = queue.Queue()

    def read() -> None:
        try:
            for response in call:
                heard.put(response)
        except grpc.RpcError:
            return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.5)  # Observe has looked and found no leader yet
    pfx = name.decode() + "/"
    steps: list[tuple[str, str, str | None, int]] = [
        ("put", "a", "x", 1),
        ("put", "b", "y", 0),
        ("put", "a", "x2", 1),
        ("del", "a", None, 1),  # b leads now
        ("put", "b", "y2", 1),
    ]
    with server.client() as kv:
        for op, key, value, answers in steps:
            if op == "put":
                kv.ok("Put", rpc_pb2.PutRequest(key=(pfx + key).encode(), value=value.encode()))
            else:
                kv.ok("DeleteRange", rpc_pb2.DeleteRangeRequest(key=(pfx + key).encode()))
            for _ in range(answers):
                seen.append(render(heard.get(timeout=WAIT_SECONDS)))
            time.sleep(0.2)
            assert heard.empty(), f"an answer nobody expected after {op} {key}"
    seen.append(leader(stub, name))
    call.cancel()
    reader.join(WAIT_SECONDS)
    channel.close()
    return seen


def test_leader_and_observe_as_etcd(pair: tuple[Server, Server]) -> None:
    ours, theirs = pair
    got = observe_session(ours, b"elect-observe")
    assert got == observe_session(theirs, b"elect-observe")
    assert got[0] == "error UNKNOWN: election: no leader"
