"""Nodes for the maintenance tests: etcd with a backend quota, and gRPC helpers."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import grpc
from crc32c import crc32c
from support.process import ManagedProcess
from support.servers import EtcdServer, Server

from kvcore import schema
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc
from kvcore.bolt import reader as bolt
from kvcore.server import snapshot_file

MEMBER_ID = re.compile(r"memberID: ?\d+")
CALL_TIMEOUT_SECONDS = 10.0


class QuotaEtcd(EtcdServer):
    """etcd with --quota-backend-bytes."""

    quota_bytes = 0

    def _make_process(self) -> ManagedProcess:
        process = super()._make_process()
        process.argv.append(f"--quota-backend-bytes={self.quota_bytes}")
        return process


def masked(text: str) -> str:
    """``text`` with member ids (they differ between servers) replaced."""
    return MEMBER_ID.sub(lambda m: m[0].split(":")[0] + ":<id>", text)


def alarm(server: Server, action: int, alarm_type: int, member_id: int = 0) -> pb.AlarmResponse:
    with grpc.insecure_channel(server.endpoint) as channel:
        stub = rpc_pb2_grpc.MaintenanceStub(channel)
        request = pb.AlarmRequest(action=action, alarm=alarm_type, memberID=member_id)
        return stub.Alarm(request, timeout=CALL_TIMEOUT_SECONDS)


def put(server: Server, key: bytes, value: bytes) -> grpc.StatusCode:
    """The status code of a Put (OK when it succeeded)."""
    with grpc.insecure_channel(server.endpoint) as channel:
        stub = rpc_pb2_grpc.KVStub(channel)
        try:
            stub.Put(pb.PutRequest(key=key, value=value), timeout=CALL_TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


class Stubs:
    """KV, Lease and Maintenance stubs on one channel; close it, or use it as a context
    manager."""

    def __init__(self, server: Server) -> None:
        self._channel = grpc.insecure_channel(
            server.endpoint, options=[("grpc.max_receive_message_length", 64 << 20)]
        )
        self.kv = rpc_pb2_grpc.KVStub(self._channel)
        self.lease = rpc_pb2_grpc.LeaseStub(self._channel)
        self.maintenance = rpc_pb2_grpc.MaintenanceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Stubs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fill(stubs: Stubs, prefix: bytes, txns: int, value: bytes) -> None:
    """Put ``txns`` * 128 keys ``prefix + %06d``, 128 per txn (etcd's default limit)."""
    for t in range(txns):
        ops = [
            pb.RequestOp(
                request_put=pb.PutRequest(key=prefix + b"%06d" % (t * 128 + i), value=value)
            )
            for i in range(128)
        ]
        stubs.kv.Txn(pb.TxnRequest(success=ops), timeout=CALL_TIMEOUT_SECONDS)


def snapshot_pairs(snapshot: Path) -> list[tuple[str, bytes, bytes]]:
    """Every (bucket, key, value) of a snapshot file, read with kvcore's bbolt reader."""
    return list(bolt.records(snapshot, snapshot_file.verified_body(snapshot)))


def buckets_crc(
    pairs: list[tuple[str, bytes, bytes]], leave_out: Collection[tuple[str, bytes]] = ()
) -> int:
    """etcd's CRC-32C of buckets: each name, empty buckets too, then its keys and values
    but those in ``leave_out`` (bucket, key)."""
    crc = 0
    for bucket in sorted(schema.ALL_BUCKETS, key=str.encode):
        crc = crc32c(bucket.encode(), crc)
        for b, key, value in pairs:
            if b == bucket and (b, key) not in leave_out:
                crc = crc32c(value, crc32c(key, crc))
    return crc
