"""A do-nothing etcdserverpb.KV server: the ceiling of a one-process Python gRPC server.

It goes through the same grpc.aio machinery a real Python server does (the generated
servicer parses each request and serializes each reply) but answers from canned
messages, so any gap between it and kvcore is kvcore's own work.

    python -m bench.echo_server --address 127.0.0.1:23790
"""

import argparse
import asyncio
import signal

import grpc

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb import rpc_pb2_grpc as pb_grpc
from kvcore.api.mvccpb import kv_pb2

HEADER = pb.ResponseHeader(cluster_id=1, member_id=1, revision=2, raft_term=1)
KEY_VALUE = kv_pb2.KeyValue(
    key=b"/registry/pods/ns-0/pod-0", value=b"v" * 64, create_revision=2, mod_revision=2, version=1
)
PUT = pb.PutResponse(header=HEADER)
RANGE = pb.RangeResponse(header=HEADER, kvs=[KEY_VALUE], count=1)
DELETE = pb.DeleteRangeResponse(header=HEADER)
TXN = pb.TxnResponse(
    header=HEADER, succeeded=True, responses=[pb.ResponseOp(response_put=PUT)]
)
COMPACT = pb.CompactionResponse(header=HEADER)


class CannedKV(pb_grpc.KVServicer):
    """Every KV method answers at once with a fixed reply."""

    async def Range(self, request: pb.RangeRequest, context: object) -> pb.RangeResponse:
        return RANGE

    async def Put(self, request: pb.PutRequest, context: object) -> pb.PutResponse:
        return PUT

    async def DeleteRange(
        self, request: pb.DeleteRangeRequest, context: object
    ) -> pb.DeleteRangeResponse:
        return DELETE

    async def Txn(self, request: pb.TxnRequest, context: object) -> pb.TxnResponse:
        return TXN

    async def Compact(
        self, request: pb.CompactionRequest, context: object
    ) -> pb.CompactionResponse:
        return COMPACT


async def serve(address: str) -> None:
    server = grpc.aio.server()
    pb_grpc.add_KVServicer_to_server(CannedKV(), server)
    server.add_insecure_port(address)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:23790", help="host:port to listen on")
    address = parser.parse_args().address
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(address))
        return
    uvloop.run(serve(address))


if __name__ == "__main__":
    main()
