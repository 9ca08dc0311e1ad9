"""The grpc.aio floor of watch fan-out: server CPU per message streamed by a bare server.

    python -m bench.stream_floor --messages 20000

A grpc.aio (uvloop) server answers a Watch call by yielding one prebuilt
WatchResponse (one 128-byte event, as bench.watchers' `key` scenario) --messages
times; a client reads them. Printed: the server process's CPU per message, the least
any one-process grpc.aio server spends per watch response.
"""

import argparse
import subprocess
import sys
import time

import grpc

from bench.load import run
from bench.targets import HOST, Running
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.mvccpb.kv_pb2 import Event, KeyValue

WATCH = "/etcdserverpb.Watch/Watch"


def _response() -> pb.WatchResponse:
    kv = KeyValue(key=b"/bench/watch/key/hot", value=b"v" * 128, create_revision=2,
                  mod_revision=100, version=99)
    header = pb.ResponseHeader(cluster_id=1, member_id=2, revision=100, raft_term=2)
    return pb.WatchResponse(header=header, watch_id=5, events=[Event(kv=kv)])


async def serve(messages: int) -> None:
    response = _response()

    async def watch(requests, ctx):
        async for _ in requests:
            break  # the first request starts the stream
        for _ in range(messages):
            yield response

    server = grpc.aio.server()
    handler = grpc.stream_stream_rpc_method_handler(
        watch, request_deserializer=pb.WatchRequest.FromString,
        response_serializer=pb.WatchResponse.SerializeToString)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("etcdserverpb.Watch", {"Watch": handler})])
    port = server.add_insecure_port(f"{HOST}:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


async def read(endpoint: str, messages: int) -> None:
    async with grpc.aio.insecure_channel(endpoint) as channel:
        call = channel.stream_stream(WATCH)()
        await call.write(pb.WatchRequest().SerializeToString())
        for _ in range(messages):
            await call.read()
        call.cancel()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.stream_floor",
                                description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=20_000)
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        run(serve(args.messages))
        return
    cmd = [sys.executable, "-m", "bench.stream_floor", "--serve", f"--messages={args.messages}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        endpoint = f"{HOST}:{int(proc.stdout.readline())}"
        server = Running([endpoint], [proc])  # type: ignore[list-item]
        cpu, began = server.cpu_seconds(), time.monotonic()
        run(read(endpoint, args.messages))
        seconds, cpu = time.monotonic() - began, server.cpu_seconds() - cpu
    finally:
        proc.terminate()
        proc.wait()
    print(f"{args.messages:,} messages in {seconds:.2f} s ({args.messages / seconds:,.0f}/s), "
          f"server CPU {cpu * 1e6 / args.messages:.1f} µs per message")


if __name__ == "__main__":
    main()
