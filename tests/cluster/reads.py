"""Reads the cluster tests check data with."""

from __future__ import annotations

from support.rawclient import RpcFailure
from support.requests import prefix_end
from support.servers import Server

from kvcore.api.etcdserverpb import rpc_pb2

Contents = dict[bytes, tuple[bytes, int]]  # key -> (value, mod_revision)


def read_prefix(member: Server, prefix: str, serializable: bool = False) -> Contents:
    """Every key under ``prefix`` on ``member``; linearizable unless ``serializable``."""
    request = rpc_pb2.RangeRequest(
        key=prefix.encode(), range_end=prefix_end(prefix), serializable=serializable
    )
    with member.client() as client:
        outcome = client.call("Range", request)
    assert not isinstance(outcome, RpcFailure), f"Range on {member.endpoint}: {outcome}"
    return {kv.key: (kv.value, kv.mod_revision) for kv in outcome.kvs}  # type: ignore[attr-defined]


def put_keys(member: Server, prefix: str, count: int) -> Contents:
    """Put ``count`` keys ``prefix0000``... through ``member``; what each put stored."""
    written: Contents = {}
    with member.client() as client:
        for i in range(count):
            request = rpc_pb2.PutRequest(key=f"{prefix}{i:04d}".encode(), value=f"v{i}".encode())
            response = client.ok("Put", request)
            written[request.key] = (request.value, response.header.revision)  # type: ignore[attr-defined]
    return written


def last_revision(contents: Contents) -> int:
    return max(revision for _, revision in contents.values())
