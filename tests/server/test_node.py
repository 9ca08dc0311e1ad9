"""A whole node in-process: config -> engine -> WAL -> raft -> server -> gRPC."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from kvcore import config, errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc
from kvcore.server.node import Node


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(data_dir: Path, port: int, **extra: object) -> config.NodeConfig:
    return config.parse(
        {
            "name": "n1",
            "data_dir": str(data_dir),
            "engine": {"name": "memory"},
            "client_listeners": [{"transport": "grpc", "address": f"127.0.0.1:{port}"}],
            **extra,
        }
    )


@contextlib.asynccontextmanager
async def _running(data_dir: Path, **extra: object) -> AsyncIterator[grpc.aio.Channel]:
    port = _free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(Node(_config(data_dir, port, **extra), "test").run(stop))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        await asyncio.wait_for(channel.channel_ready(), 10)
        yield channel
    finally:
        await channel.close()
        stop.set()
        await asyncio.wait_for(task, 10)


def test_put_get_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with _running(tmp_path) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            puts = await asyncio.gather(
                *(kv.Put(pb.PutRequest(key=b"k%03d" % i, value=b"v%d" % i)) for i in range(50))
            )
            assert sorted(p.header.revision for p in puts) == list(range(2, 52))
            header = puts[0].header
            assert header.cluster_id and header.member_id and header.raft_term >= 2
        async with _running(tmp_path) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            got = await kv.Range(pb.RangeRequest(key=b"k", range_end=b"l"))
            assert got.count == 50
            assert got.header.revision == 51
            assert {kv.key: kv.value for kv in got.kvs}[b"k007"] == b"v7"
            assert got.header.member_id == header.member_id

    asyncio.run(scenario())


def test_errors_keep_etcds_code_and_message(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with _running(tmp_path) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            cases = [
                (kv.Put(pb.PutRequest(key=b"")), errors.EMPTY_KEY),
                (kv.Range(pb.RangeRequest(key=b"a", revision=99)), errors.FUTURE_REV),
                (
                    kv.Put(pb.PutRequest(key=b"big", value=b"x" * (1_572_864 + 1))),
                    errors.REQUEST_TOO_LARGE,
                ),
            ]
            for call, expected in cases:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call
                assert err.value.code().name == expected.code.name
                assert err.value.details() == expected.message
            # The node is still up and consistent after the failures.
            put = await kv.Put(pb.PutRequest(key=b"after", value=b"ok"))
            assert put.header.revision == 2

    asyncio.run(scenario())


def test_unknown_engine_is_refused_before_anything_starts(tmp_path: Path) -> None:
    cfg = config.parse(
        {
            "data_dir": str(tmp_path / "d"),
            "engine": {"name": "nosuch"},
            "client_listeners": [{"transport": "grpc", "address": "127.0.0.1:1"}],
        }
    )
    with pytest.raises(config.ConfigError, match=r"engine.name: unknown engine 'nosuch'"):
        Node(cfg, "node.yaml")
    assert not (tmp_path / "d").exists()


def test_compaction_purges_in_steps_without_holding_up_writes(tmp_path: Path) -> None:
    async def scenario() -> None:
        steps = {"compaction": {"batch_limit": 20, "pause_ms": 5}}
        async with _running(tmp_path, **steps) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            for i in range(400):
                await kv.Put(pb.PutRequest(key=b"c%d" % (i % 4), value=b"%d" % i))
            # Not physical: answered once scheduled; the purge (20 steps) goes on after.
            await kv.Compact(pb.CompactionRequest(revision=400))
            during = await kv.Put(pb.PutRequest(key=b"during", value=b"x"))
            assert during.header.revision == 402
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await kv.Range(pb.RangeRequest(key=b"c0", revision=399))
            assert err.value.details() == errors.COMPACTED.message
            await kv.Compact(pb.CompactionRequest(revision=401, physical=True))
            got = await kv.Range(pb.RangeRequest(key=b"c", range_end=b"d"))
            assert [kv.value for kv in got.kvs] == [b"396", b"397", b"398", b"399"]
        async with _running(tmp_path) as channel:  # after a restart, the same history
            kv = rpc_pb2_grpc.KVStub(channel)
            got = await kv.Range(pb.RangeRequest(key=b"c", range_end=b"d", revision=401))
            assert [kv.value for kv in got.kvs] == [b"396", b"397", b"398", b"399"]

    asyncio.run(scenario())
