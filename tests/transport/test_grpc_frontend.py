"""A client listener served by gRPC worker processes (``frontend_processes``) that relay
every call to the handlers in this process."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from kvcore_grpc.transport import GrpcOptions, GrpcTransport
from support.ports import HOST, free_port

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc


class _KV:
    async def range(self, request: pb.RangeRequest, ctx) -> pb.RangeResponse:
        token = ctx.metadata.get("token", "")
        return pb.RangeResponse(count=len(request.key), kvs=[{"key": token.encode()}])

    async def put(self, request: pb.PutRequest, ctx) -> pb.PutResponse:
        raise errors.EMPTY_KEY


class _Lease:
    async def lease_keep_alive(self, requests, ctx) -> AsyncIterator[pb.LeaseKeepAliveResponse]:
        async for request in requests:
            yield pb.LeaseKeepAliveResponse(ID=request.ID, TTL=request.ID * 10)


def _listener(address: str, workers: int = 2):
    services = {"etcdserverpb.KV": _KV(), "etcdserverpb.Lease": _Lease()}
    options = GrpcOptions(frontend_processes=workers)
    return GrpcTransport().client_server(address, services, options, 1 << 20)


def _run(scenario) -> None:
    async def main() -> None:
        address = f"{HOST}:{free_port()}"
        server = _listener(address)
        others = set(_children(os.getpid()))  # the session's servers, if any
        await server.start()
        workers = set(_children(os.getpid())) - others
        assert len(workers) == 2
        try:
            await scenario(address)
        finally:
            await server.stop(1)
        assert not any(_alive(w) for w in workers)  # every worker exited with the listener

    asyncio.run(main())


def test_unary_calls_carry_metadata_and_etcd_errors() -> None:
    async def scenario(address: str) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            got = await kv.Range(pb.RangeRequest(key=b"abc"), metadata=[("token", "t1")])
            assert got.count == 3 and got.kvs[0].key == b"t1"
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await kv.Put(pb.PutRequest(key=b"k"))
            assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert failed.value.details() == "etcdserver: key is not provided"
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await kv.DeleteRange(pb.DeleteRangeRequest(key=b"k"))
            assert missing.value.code() == grpc.StatusCode.UNIMPLEMENTED

    _run(scenario)


def test_streams_go_both_ways() -> None:
    async def scenario(address: str) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            stream = rpc_pb2_grpc.LeaseStub(channel).LeaseKeepAlive()
            for lease in (1, 2, 3):
                await stream.write(pb.LeaseKeepAliveRequest(ID=lease))
                answer = await stream.read()
                assert answer == pb.LeaseKeepAliveResponse(ID=lease, TTL=lease * 10)
            await stream.done_writing()
            assert await stream.read() == grpc.aio.EOF

    _run(scenario)


def test_a_dead_worker_is_replaced() -> None:
    async def scenario() -> None:
        address = f"{HOST}:{free_port()}"
        server = _listener(address)
        others = set(_children(os.getpid()))
        await server.start()
        try:
            first = set(_children(os.getpid())) - others
            os.kill(min(first), signal.SIGKILL)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                now = {w for w in set(_children(os.getpid())) - others if _alive(w)}
                if len(now) == 2 and now != first:
                    break
                await asyncio.sleep(0.05)
            assert len(now) == 2 and max(first) in now  # one new, the other untouched
            for _ in range(4):  # new connections land on either worker; all answer
                async with grpc.aio.insecure_channel(
                    address, options=[("grpc.use_local_subchannel_pool", 1)]
                ) as channel:
                    got = await rpc_pb2_grpc.KVStub(channel).Range(pb.RangeRequest(key=b"ab"))
                    assert got.count == 2
        finally:
            await server.stop(1)
        assert not any(_alive(w) for w in now)

    asyncio.run(scenario())


def test_workers_leave_with_a_killed_server(tmp_path) -> None:
    """kill -9 of the server's process: its workers see the relay close and exit."""
    from support.process import ManagedProcess
    from support.servers import kvcore_argv, kvcore_config, kvcore_env, write_yaml

    address = f"{HOST}:{free_port()}"
    config = kvcore_config(address, tmp_path / "data")
    config["client_listeners"] = [
        {"transport": "grpc", "address": address, "options": {"frontend_processes": 2}}
    ]
    path = write_yaml(tmp_path / "kvcore.yaml", config)
    node = ManagedProcess(kvcore_argv(path), tmp_path / "kvcore.log", env=kvcore_env(),
                          cwd=tmp_path)
    node.start()
    try:
        node.wait_ready(lambda: len(_children(node.pid)) == 2, timeout=30)
        workers = _children(node.pid)
        os.kill(node.pid, signal.SIGKILL)  # the server's process alone, not its group
        node.wait_exit(10)
        deadline = time.monotonic() + 15
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers)
    finally:
        node.kill9()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
