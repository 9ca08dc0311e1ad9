"""The h2 client listener (kvcore's own HTTP/2 framing of gRPC), driven by grpcio's
client: calls, statuses, streams, flow control both ways, deadlines, cancellation and
shutdown. Whole-node behaviour over it is the rest of the suite's, run with
KVCORE_TEST_CLIENT_TRANSPORT=h2 (``make test-h2``)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import grpc
import hpack
import pytest
from kvcore_h2 import frames
from kvcore_h2.transport import H2Options, H2Transport
from support.ports import HOST, free_port

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc
from kvcore.api.mvccpb import kv_pb2

LIMIT = 1 << 20  # max_request_bytes of the listener under test


class _KV:
    def __init__(self) -> None:
        self.cancelled = asyncio.Event()

    async def range(self, request: pb.RangeRequest, ctx) -> pb.RangeResponse:
        if request.key == b"slow":
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        size = request.limit  # answer with this many bytes of value
        kvs = [kv_pb2.KeyValue(key=ctx.metadata.get("token", "").encode(), value=b"v" * size)]
        return pb.RangeResponse(count=len(request.key), kvs=kvs)

    async def put(self, request: pb.PutRequest, ctx) -> pb.PutResponse:
        if not request.key:
            raise errors.EMPTY_KEY
        return pb.PutResponse(header=pb.ResponseHeader(revision=len(request.value)))


class _Lease:
    async def lease_keep_alive(self, requests, ctx) -> AsyncIterator[pb.LeaseKeepAliveResponse]:
        async for request in requests:
            yield pb.LeaseKeepAliveResponse(ID=request.ID, TTL=request.ID * 10)


class _Maintenance:
    async def snapshot(self, request, ctx) -> AsyncIterator[pb.SnapshotResponse]:
        for i in range(40):  # 40 x 256 KiB: far past any flow-control window
            yield pb.SnapshotResponse(blob=bytes([i]) * (256 * 1024), remaining_bytes=39 - i)


def _run(scenario, kv: _KV | None = None) -> None:
    async def main() -> None:
        address = f"{HOST}:{free_port()}"
        services = {
            "etcdserverpb.KV": kv or _KV(),
            "etcdserverpb.Lease": _Lease(),
            "etcdserverpb.Maintenance": _Maintenance(),
        }
        server = H2Transport().client_server(address, services, H2Options(), LIMIT)
        await server.start()
        try:
            await scenario(address, server)
        finally:
            await server.stop(1)

    asyncio.run(main())


async def _status(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call
    return failed.value.code(), failed.value.details()


def test_unary_calls_metadata_and_etcd_errors() -> None:
    async def scenario(address: str, server) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            got = await kv.Range(pb.RangeRequest(key=b"abc"), metadata=[("token", "t1")])
            assert got.count == 3 and got.kvs[0].key == b"t1"
            assert await _status(kv.Put(pb.PutRequest())) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "etcdserver: key is not provided",
            )
            # Many calls at once on one connection.
            puts = [kv.Put(pb.PutRequest(key=b"k", value=b"x" * i)) for i in range(200)]
            answers = await asyncio.gather(*puts)
            assert [a.header.revision for a in answers] == list(range(200))

    _run(scenario)


def test_unknown_services_and_methods_in_grpc_gos_words() -> None:
    async def scenario(address: str, server) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            assert await _status(kv.DeleteRange(pb.DeleteRangeRequest(key=b"k"))) == (
                grpc.StatusCode.UNIMPLEMENTED,
                "unknown method DeleteRange for service etcdserverpb.KV",
            )
            watch = rpc_pb2_grpc.ClusterStub(channel).MemberList(pb.MemberListRequest())
            assert await _status(watch) == (
                grpc.StatusCode.UNIMPLEMENTED,
                "unknown service etcdserverpb.Cluster",
            )

    _run(scenario)


def test_large_messages_both_ways() -> None:
    """A request and answers of megabytes: more than any window either side opens."""

    async def scenario(address: str, server) -> None:
        options = [("grpc.max_receive_message_length", 64 << 20)]
        async with grpc.aio.insecure_channel(address, options=options) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            put = await kv.Put(pb.PutRequest(key=b"k", value=b"x" * LIMIT))
            assert put.header.revision == LIMIT
            got = await asyncio.gather(*(kv.Range(pb.RangeRequest(key=b"k", limit=3 << 20))
                                         for _ in range(4)))
            assert all(len(r.kvs[0].value) == 3 << 20 for r in got)
            blobs = [r.blob async for r in rpc_pb2_grpc.MaintenanceStub(channel).Snapshot(
                pb.SnapshotRequest())]
            assert [b[0] for b in blobs] == list(range(40))
            assert all(len(b) == 256 * 1024 for b in blobs)

    _run(scenario)


def test_a_request_over_the_receive_limit_fails_as_grpc_go_fails_it() -> None:
    async def scenario(address: str, server) -> None:
        limit = LIMIT + 512 * 1024
        async with grpc.aio.insecure_channel(address) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            big = pb.PutRequest(key=b"k", value=b"x" * (limit + 10))
            code, text = await _status(kv.Put(big))
            size = big.ByteSize()
            assert (code, text) == (
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"grpc: received message larger than max ({size} vs. {limit})",
            )
            assert (await kv.Put(pb.PutRequest(key=b"k", value=b"ok"))).header.revision == 2

    _run(scenario)


def test_bidirectional_stream() -> None:
    async def scenario(address: str, server) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            stream = rpc_pb2_grpc.LeaseStub(channel).LeaseKeepAlive()
            for lease in (1, 2, 3):
                await stream.write(pb.LeaseKeepAliveRequest(ID=lease))
                answer = await stream.read()
                assert (lease, lease * 10) == (answer.ID, answer.TTL)
            await stream.done_writing()
            assert await stream.read() == grpc.aio.EOF
            assert await stream.code() == grpc.StatusCode.OK

    _run(scenario)


def test_deadline_and_cancellation_stop_the_handler() -> None:
    kv = _KV()

    async def scenario(address: str, server) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = rpc_pb2_grpc.KVStub(channel)
            code, _ = await _status(stub.Range(pb.RangeRequest(key=b"slow"), timeout=0.3))
            assert code == grpc.StatusCode.DEADLINE_EXCEEDED
            await asyncio.wait_for(kv.cancelled.wait(), 5)
            kv.cancelled.clear()
            call = stub.Range(pb.RangeRequest(key=b"slow"))
            await asyncio.sleep(0.2)
            call.cancel()
            await asyncio.wait_for(kv.cancelled.wait(), 5)

    _run(scenario, kv)


def test_stop_lets_calls_in_flight_finish_and_refuses_new_ones() -> None:
    async def scenario(address: str, server) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            await kv.Put(pb.PutRequest(key=b"k"))
            stream = rpc_pb2_grpc.LeaseStub(channel).LeaseKeepAlive()
            await stream.write(pb.LeaseKeepAliveRequest(ID=1))
            assert (await stream.read()).ID == 1
            stopping = asyncio.create_task(server.stop(2))
            await asyncio.sleep(0.2)
            await stream.write(pb.LeaseKeepAliveRequest(ID=2))  # in flight: still served
            assert (await stream.read()).ID == 2
            await stream.done_writing()
            await stopping
            code, _ = await _status(kv.Put(pb.PutRequest(key=b"k"), timeout=2))
            assert code == grpc.StatusCode.UNAVAILABLE

    _run(scenario)


def _exchange(address: str, sent: bytes) -> bytes:
    """What the listener sends back to a connection that sends ``sent`` and stops."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(sent)
        received = b""
        while chunk := conn.recv(4096):
            received += chunk
            if b"404 page not found" in received:
                break
        return received


def test_http1_goes_to_the_gateway_and_anything_else_is_hung_up_on() -> None:
    async def scenario(address: str, server) -> None:
        request = b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
        answer = await asyncio.to_thread(_exchange, address, request)
        assert answer.startswith(b"HTTP/1.1 404 ") and answer.endswith(b"404 page not found\n")
        received = await asyncio.to_thread(_exchange, address, b"\x16\x03\x01 not http at all")
        # The server's SETTINGS, then a GOAWAY (type 7) with PROTOCOL_ERROR, then EOF.
        assert received[3] == 0x4 and received.find(b"\x07\x00\x00\x00\x00\x00") > 0

    _run(scenario)


def _status_at_deadline(address: str, path: bytes) -> tuple[int, str]:
    """grpc-status and grpc-message of a call with a 200 ms grpc-timeout, made by a
    client that keeps no timer of its own (grpcio's would end the call first)."""
    headers = [
        (b":method", b"POST"),
        (b":scheme", b"http"),
        (b":path", path),
        (b":authority", b"x"),
        (b"content-type", b"application/grpc"),
        (b"te", b"trailers"),
        (b"grpc-timeout", b"200m"),
    ]
    block = b"".join(frames.literal(name, value) for name, value in headers)
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(
            frames.PREFACE
            + frames.settings({})
            + frames.frame(frames.FrameType.HEADERS, frames.Flag.END_HEADERS, 1, block)
        )
        received = b""
        decoder = hpack.Decoder()
        while True:
            while len(received) < frames.HEADER_BYTES:
                received += conn.recv(4096)
            length, kind, flags, stream = frames.parse_header(received, 0)
            while len(received) < frames.HEADER_BYTES + length:
                received += conn.recv(4096)
            payload = received[frames.HEADER_BYTES : frames.HEADER_BYTES + length]
            received = received[frames.HEADER_BYTES + length :]
            if kind == frames.FrameType.HEADERS and stream == 1:
                fields = dict(decoder.decode(payload, raw=True))
                if flags & frames.Flag.END_STREAM:
                    return int(fields[b"grpc-status"]), fields[b"grpc-message"].decode()


def test_a_deadline_ends_a_stream_as_etcds_handlers_do() -> None:
    """A unary call past its deadline: DEADLINE_EXCEEDED; a bidirectional stream
    (Watch, LeaseKeepAlive): Unknown, as etcd's stream handlers return the context's
    error unconverted."""

    async def scenario(address: str, server) -> None:
        unary = await asyncio.to_thread(_status_at_deadline, address, b"/etcdserverpb.KV/Range")
        assert unary == (grpc.StatusCode.DEADLINE_EXCEEDED.value[0], "context deadline exceeded")
        stream = await asyncio.to_thread(
            _status_at_deadline, address, b"/etcdserverpb.Lease/LeaseKeepAlive"
        )
        assert stream == (grpc.StatusCode.UNKNOWN.value[0], "context deadline exceeded")

    _run(scenario)
