"""The gRPC client listener: several accept loops on one address, and a taken address."""

from __future__ import annotations

import asyncio
import socket

import grpc
import pytest
from kvcore_grpc.transport import GrpcOptions, GrpcTransport
from support.ports import HOST, free_port

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc

HEADER = pb.ResponseHeader(cluster_id=7)


class _KV:
    async def range(self, request: pb.RangeRequest, ctx: object) -> pb.RangeResponse:
        return pb.RangeResponse(header=HEADER, count=len(request.key))


def _listener(address: str, accept_loops: int = 4, frontend_processes: int = 0):
    options = GrpcOptions(accept_loops=accept_loops, frontend_processes=frontend_processes)
    return GrpcTransport().client_server(address, {"etcdserverpb.KV": _KV()}, options, 1 << 20)


def test_accept_loops_share_one_port_and_all_serve() -> None:
    async def scenario() -> None:
        address = f"{HOST}:{free_port()}"
        server = _listener(address)
        await server.start()
        try:
            # Separate connections land on the loops the kernel picks; all must answer.
            for _ in range(8):
                async with grpc.aio.insecure_channel(
                    address, options=[("grpc.use_local_subchannel_pool", 1)]
                ) as channel:
                    got = await rpc_pb2_grpc.KVStub(channel).Range(pb.RangeRequest(key=b"abc"))
                    assert got.count == 3 and got.header.cluster_id == 7
        finally:
            await server.stop(0)

    asyncio.run(scenario())


@pytest.mark.parametrize("accept_loops", [1, 4])
def test_a_taken_address_is_an_oserror(accept_loops: int) -> None:
    async def scenario() -> None:
        with socket.socket() as taken:
            taken.bind((HOST, 0))
            taken.listen()
            address = f"{HOST}:{taken.getsockname()[1]}"
            with pytest.raises(OSError, match="cannot listen for clients"):
                await _listener(address, accept_loops).start()

    asyncio.run(scenario())


@pytest.mark.parametrize("frontend_processes", [0, 1])
def test_a_second_listener_on_the_same_address_is_refused(frontend_processes: int) -> None:
    """SO_REUSEPORT lets the loops (or worker processes) of one listener share the
    address; a second member started on it must still fail, not take a share of the
    first one's clients."""

    async def scenario() -> None:
        address = f"{HOST}:{free_port()}"
        first = _listener(address, frontend_processes=frontend_processes)
        await first.start()
        try:
            with pytest.raises(OSError, match="cannot listen for clients"):
                await _listener(address, frontend_processes=frontend_processes).start()
        finally:
            await first.stop(0)

    asyncio.run(scenario())
