"""The server's end of the relay: calls that gRPC worker processes took in, served by
the same handler objects as an in-process listener (``relay_wire`` has the frames)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory

from kvcore import metrics
from kvcore.errors import Code
from kvcore.rpc import bound_methods, status_of
from kvcore.transport import Services

from .relay_wire import (
    FrameProtocol,
    Kind,
    Opening,
    frame,
    read_call,
    read_port,
    reply_frame,
    status,
)

log = logging.getLogger(__name__)

_UNIMPLEMENTED = grpc.StatusCode.UNIMPLEMENTED.value[0]


@dataclass(frozen=True, slots=True)
class _Method:
    fn: Callable
    parse: Callable[[bytes], Any]
    client_streaming: bool
    server_streaming: bool
    counts: metrics.RpcCounts


@dataclass(frozen=True, slots=True)
class RelayCallContext:
    """A CallContext from what the worker saw of the call."""

    metadata: dict[str, str]
    peer: str
    common_name: str


class RelayServer:
    """Listens on a unix socket for worker processes; ``ports`` yields each worker's
    port as it reports listening."""

    def __init__(self, files: Iterable[descriptor.FileDescriptor], services: Services) -> None:
        self._methods: dict[str, _Method] = {}
        for method, fn in bound_methods(files, services):
            kind = metrics.rpc_type(method.client_streaming, method.server_streaming)
            path = f"/{method.containing_service.full_name}/{method.name}"
            self._methods[path] = _Method(
                fn,
                message_factory.GetMessageClass(method.input_type).FromString,
                method.client_streaming,
                method.server_streaming,
                metrics.rpc_counts(method.containing_service.full_name, method.name, kind),
            )
        self.ports: asyncio.Queue[int] = asyncio.Queue()
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_Connection] = set()

    async def start(self, path: Path) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(lambda: _Connection(self), str(path))

    async def stop(self, grace: float) -> None:
        """Take no more workers; give the calls in flight ``grace`` seconds, then end
        the rest; the workers see the socket close and exit."""
        if self._server is not None:
            self._server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while any(c.busy for c in self._connections) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for connection in list(self._connections):
            connection.close()  # its calls still running are cancelled as it goes


class _Connection(FrameProtocol):
    def __init__(self, relay: RelayServer) -> None:
        super().__init__(self._frame)
        self._relay = relay
        self._tasks: dict[int, asyncio.Task] = {}  # every call being served
        self._inboxes: dict[int, asyncio.Queue] = {}  # a stream's messages, None at END

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._relay._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._relay._connections.discard(self)
        for task in self._tasks.values():
            task.cancel()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def _frame(self, kind: Kind, call_id: int, payload: bytes) -> None:
        if kind == Kind.CALL:
            opening, request = read_call(payload)
            self._start(call_id, self._unary(call_id, opening, request))
        elif kind == Kind.OPEN:
            inbox = self._inboxes[call_id] = asyncio.Queue()
            self._start(call_id, self._stream(call_id, Opening.decode(payload), inbox))
        elif kind == Kind.MSG or kind == Kind.END:
            if (inbox := self._inboxes.get(call_id)) is not None:
                inbox.put_nowait(payload if kind == Kind.MSG else None)
        elif kind == Kind.CANCEL:
            if (task := self._tasks.get(call_id)) is not None:
                task.cancel()  # the client went away: nobody to tell
        elif kind == Kind.HELLO:
            self._relay.ports.put_nowait(read_port(payload))

    def _start(self, call_id: int, serve: Coroutine[Any, Any, None]) -> None:
        task = self._tasks[call_id] = asyncio.ensure_future(serve)
        task.add_done_callback(lambda _: self._forget(call_id))

    def _forget(self, call_id: int) -> None:
        self._tasks.pop(call_id, None)
        self._inboxes.pop(call_id, None)

    async def _unary(self, call_id: int, opening: Opening, request: bytes) -> None:
        """A unary call, in one frame each way."""
        method = self._relay._methods.get(opening.method)
        if method is None:
            self.write(reply_frame(call_id, _UNIMPLEMENTED, "Method not found!", b""))
            return
        ctx = _context(opening)
        code, message, response = await _counted(
            method, lambda: method.fn(method.parse(request), ctx)
        )
        answer = b"" if response is None else response.SerializeToString()
        self.write(reply_frame(call_id, _grpc_code(code), message, answer))

    async def _stream(self, call_id: int, opening: Opening, inbox: asyncio.Queue) -> None:
        method = self._relay._methods.get(opening.method)
        if method is None:
            self.write(status(call_id, _UNIMPLEMENTED, "Method not found!"))
            return
        ctx = _context(opening)
        code, message, _ = await _counted(
            method, lambda: self._exchange(call_id, method, ctx, inbox)
        )
        self.write(status(call_id, _grpc_code(code), message))

    async def _exchange(
        self, call_id: int, method: _Method, ctx: RelayCallContext, inbox: asyncio.Queue
    ) -> None:
        if method.client_streaming:
            request: Any = _requests(inbox, method.parse)
        else:
            raw = await inbox.get()
            request = method.parse(raw if raw is not None else b"")
        if method.server_streaming:
            async for response in method.fn(request, ctx):
                self.write(frame(Kind.MSG, call_id, response.SerializeToString()))
        else:
            response = await method.fn(request, ctx)
            self.write(frame(Kind.MSG, call_id, response.SerializeToString()))


async def _counted(
    method: _Method, work: Callable[[], Awaitable[Any]]
) -> tuple[Code, str, Any]:
    """Run a call's handler work, counted in its RPC metrics: (etcd's status code, its
    message, the work's result or None when it failed)."""
    counts = method.counts
    counts.start()
    try:
        result = await work()
    except asyncio.CancelledError:
        counts.finish(Code.CANCELLED)
        raise
    except Exception as exc:
        code, message = status_of(exc)
        counts.finish(code)
        return code, message, None
    counts.finish(Code.OK)
    return Code.OK, "", result


def _grpc_code(code: Code) -> int:
    return grpc.StatusCode[code.name].value[0]


def _context(opening: Opening) -> RelayCallContext:
    pairs = opening.metadata
    metadata = {pairs[i].lower(): pairs[i + 1] for i in range(0, len(pairs) - 1, 2)}
    return RelayCallContext(metadata, opening.peer, opening.common_name)


async def _requests(inbox: asyncio.Queue, parse: Callable[[bytes], Any]) -> AsyncIterator[Any]:
    while (raw := await inbox.get()) is not None:
        yield parse(raw)
