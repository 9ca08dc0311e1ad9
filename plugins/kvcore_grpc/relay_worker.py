"""A gRPC worker process: serves etcd's API on the listener's address (SO_REUSEPORT,
shared with the other workers) and relays every call to the server's process.

grpc.aio's per-call work (HTTP/2, the completion queue, the poller thread) is most of
what a single-process server spends per request; in workers it runs beside raft, the
WAL and apply instead of holding their GIL. Started by ``GrpcServer`` with
``frontend_processes``; exits when the server's end of the relay closes.

    python -m kvcore_grpc.relay_worker SOCKET ADDRESS OPTIONS_JSON MAX_RECEIVE_BYTES
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc

from kvcore import errors
from kvcore.rpc import API_FILES

from .relay_wire import (
    HEADER,
    FrameProtocol,
    Kind,
    Opening,
    call_frame,
    frame,
    hello,
    read_reply,
    read_status,
    reply_frame,
)

_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}
_STOPPED = bytes([grpc.StatusCode.UNAVAILABLE.value[0]]) + errors.STOPPED.message.encode()
_STOPPED_REPLY = reply_frame(0, grpc.StatusCode.UNAVAILABLE.value[0], errors.STOPPED.message, b"")[
    HEADER.size :
]
STOP_GRACE_SECONDS = 5.0  # for the statuses of the calls the server ended to go out


class _Relay(FrameProtocol):
    """The worker's end: a future per unary call, an inbox per streaming one."""

    def __init__(self, tls: bool) -> None:
        super().__init__(self._frame)
        self._tls = tls
        self._ids = itertools.count(1)
        self._inboxes: dict[int, asyncio.Queue] = {}
        self._replies: dict[int, asyncio.Future] = {}

    def _opening(self, method: str, ctx: grpc.aio.ServicerContext) -> Opening:
        metadata = [x for k, v in ctx.invocation_metadata() or () if isinstance(v, str)
                    for x in (k, v)]
        names = ctx.auth_context().get("x509_common_name") if self._tls else None
        return Opening(method, ctx.peer(), names[0].decode() if names else "", metadata)

    async def call(self, method: str, request: bytes, ctx: grpc.aio.ServicerContext) -> bytes:
        call_id = next(self._ids)
        future = self._replies[call_id] = asyncio.get_running_loop().create_future()
        self.write(call_frame(call_id, self._opening(method, ctx), request))
        try:
            code, message, response = await future
        except asyncio.CancelledError:
            if self._replies.pop(call_id, None) is not None:
                self.write(frame(Kind.CANCEL, call_id))
            raise
        if code != 0:
            await ctx.abort(_BY_VALUE[code], message)
        return response

    def open(self, method: str, ctx: grpc.aio.ServicerContext) -> tuple[int, asyncio.Queue]:
        call_id = next(self._ids)
        inbox: asyncio.Queue = asyncio.Queue()
        self._inboxes[call_id] = inbox
        self.write(frame(Kind.OPEN, call_id, self._opening(method, ctx).encode()))
        return call_id, inbox

    def close_call(self, call_id: int, finished: bool) -> None:
        if self._inboxes.pop(call_id, None) is not None and not finished:
            self.write(frame(Kind.CANCEL, call_id))

    def _frame(self, kind: Kind, call_id: int, payload: bytes) -> None:
        if kind == Kind.REPLY:
            if (future := self._replies.pop(call_id, None)) is not None and not future.done():
                future.set_result(read_reply(payload))
        elif (inbox := self._inboxes.get(call_id)) is not None:
            inbox.put_nowait((kind, payload))

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        # The server is gone: every call ends as etcd ends calls of a stopped server.
        for inbox in self._inboxes.values():
            inbox.put_nowait((Kind.STATUS, _STOPPED))
        for future in self._replies.values():
            if not future.done():
                future.set_result(read_reply(_STOPPED_REPLY))
        self._replies.clear()


def _handler(relay: _Relay, method: str, client_streaming: bool, server_streaming: bool):
    if not client_streaming and not server_streaming:

        async def unary(request: bytes, ctx: grpc.aio.ServicerContext) -> bytes:
            return await relay.call(method, request, ctx)

        return unary

    async def send_requests(call_id: int, requests: Any) -> None:
        if client_streaming:
            async for raw in requests:
                relay.write(frame(Kind.MSG, call_id, raw))
        else:
            relay.write(frame(Kind.MSG, call_id, requests))
        relay.write(frame(Kind.END, call_id))

    async def responses(requests: Any, ctx: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        call_id, inbox = relay.open(method, ctx)
        finished = False
        pump = asyncio.ensure_future(send_requests(call_id, requests))
        try:
            while True:
                kind, payload = await inbox.get()
                if kind == Kind.MSG:
                    yield payload
                    continue
                finished = True
                code, message = read_status(payload)
                if code != 0:
                    await ctx.abort(_BY_VALUE[code], message)
                return
        finally:
            pump.cancel()
            relay.close_call(call_id, finished)

    if server_streaming:
        return responses

    async def client_streaming_unary(requests: Any, ctx: grpc.aio.ServicerContext) -> bytes:
        answers = [message async for message in responses(requests, ctx)]
        return answers[-1] if answers else b""

    return client_streaming_unary


def _generic_handlers(relay: _Relay) -> list[grpc.GenericRpcHandler]:
    handlers = []
    for file in API_FILES:
        for service in file.services_by_name.values():
            methods = {}
            for m in service.methods:
                fn = _handler(relay, f"/{service.full_name}/{m.name}",
                              m.client_streaming, m.server_streaming)
                make = {
                    (False, False): grpc.unary_unary_rpc_method_handler,
                    (False, True): grpc.unary_stream_rpc_method_handler,
                    (True, False): grpc.stream_unary_rpc_method_handler,
                    (True, True): grpc.stream_stream_rpc_method_handler,
                }[(m.client_streaming, m.server_streaming)]
                methods[m.name] = make(fn)  # bytes in and out: the server parses
            handlers.append(grpc.method_handlers_generic_handler(service.full_name, methods))
    return handlers


async def _serve(socket_path: str, address: str, options_json: str, max_receive: int) -> None:
    from .binding import bind_and_start
    from .tls import server_credentials
    from .transport import GrpcOptions, server_options

    options = GrpcOptions.model_validate_json(options_json)
    loop = asyncio.get_running_loop()
    _, relay = await loop.create_unix_connection(
        lambda: _Relay(options.tls is not None), socket_path
    )
    server = grpc.aio.server(options=server_options(options, max_receive, shared=True))
    server.add_generic_rpc_handlers(_generic_handlers(relay))
    credentials = server_credentials(options.tls) if options.tls else None
    port = await bind_and_start(server, address, "clients", credentials)
    relay.write(hello(port))
    try:
        await relay.closed
    finally:
        await server.stop(STOP_GRACE_SECONDS)


def main() -> None:
    # The server's process decides when the workers go: a signal to the whole process
    # group (Ctrl-C) must not cut the streams it is about to end with etcd's status.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    socket_path, address, options_json, max_receive = sys.argv[1:5]
    try:
        import uvloop
    except ImportError:
        runner = asyncio.Runner()
    else:
        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    with runner:
        runner.run(_serve(socket_path, address, options_json, int(max_receive)))


if __name__ == "__main__":
    main()
