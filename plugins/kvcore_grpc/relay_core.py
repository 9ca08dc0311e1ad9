"""The server's end of the relay: calls that gRPC worker processes took in, served by
the same handler objects as an in-process listener (``relay_wire`` has the frames)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory

from kvcore import metrics
from kvcore.errors import Code
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
from .services import bound_methods, status_of

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


@dataclass(slots=True)
class _Call:
    inbox: asyncio.Queue = field(default_factory=asyncio.Queue)  # messages, None at END
    task: asyncio.Task | None = None


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
        self._calls: dict[int, _Call] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._relay._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._relay._connections.discard(self)
        for call in self._calls.values():
            if call.task is not None:
                call.task.cancel()

    @property
    def busy(self) -> bool:
        return bool(self._calls)

    def _frame(self, kind: Kind, call_id: int, payload: bytes) -> None:
        if kind == Kind.CALL:
            opening, request = read_call(payload)
            call = self._calls[call_id] = _Call()
            call.task = asyncio.ensure_future(self._answer(call_id, opening, request))
        elif kind == Kind.OPEN:
            call = self._calls[call_id] = _Call()
            call.task = asyncio.ensure_future(self._serve(call_id, call, Opening.decode(payload)))
        elif kind == Kind.MSG or kind == Kind.END:
            if (call := self._calls.get(call_id)) is not None:
                call.inbox.put_nowait(payload if kind == Kind.MSG else None)
        elif kind == Kind.CANCEL:
            if (call := self._calls.get(call_id)) is not None and call.task is not None:
                call.task.cancel()
        elif kind == Kind.HELLO:
            self._relay.ports.put_nowait(read_port(payload))

    async def _answer(self, call_id: int, opening: Opening, request: bytes) -> None:
        """A unary call, in one frame each way."""
        method = self._relay._methods.get(opening.method)
        try:
            if method is None:
                self.write(reply_frame(call_id, _UNIMPLEMENTED, "Method not found!", b""))
                return
            counts = method.counts
            counts.start()
            try:
                response = await method.fn(method.parse(request), _context(opening))
            except asyncio.CancelledError:
                counts.finish(Code.CANCELLED)
                raise
            except Exception as exc:
                code, message = status_of(exc)
                counts.finish(code)
                self.write(reply_frame(call_id, grpc.StatusCode[code.name].value[0], message, b""))
                return
            counts.finish(Code.OK)
            self.write(reply_frame(call_id, 0, "", response.SerializeToString()))
        except asyncio.CancelledError:
            pass  # the client went away: nobody to tell
        finally:
            self._calls.pop(call_id, None)

    async def _serve(self, call_id: int, call: _Call, opening: Opening) -> None:
        method = self._relay._methods.get(opening.method)
        try:
            if method is None:
                self.write(status(call_id, _UNIMPLEMENTED, "Method not found!"))
                return
            code, message = await self._run(call_id, call, method, _context(opening))
            self.write(status(call_id, grpc.StatusCode[code.name].value[0], message))
        except asyncio.CancelledError:
            pass  # the client went away: nobody to tell
        finally:
            self._calls.pop(call_id, None)

    async def _run(
        self, call_id: int, call: _Call, method: _Method, ctx: RelayCallContext
    ) -> tuple[Code, str]:
        counts = method.counts
        counts.start()
        try:
            if method.client_streaming:
                request: Any = _requests(call.inbox, method.parse)
            else:
                raw = await call.inbox.get()
                request = method.parse(raw if raw is not None else b"")
            if method.server_streaming:
                async for response in method.fn(request, ctx):
                    self.write(frame(Kind.MSG, call_id, response.SerializeToString()))
            else:
                response = await method.fn(request, ctx)
                self.write(frame(Kind.MSG, call_id, response.SerializeToString()))
        except asyncio.CancelledError:
            counts.finish(Code.CANCELLED)
            raise
        except Exception as exc:
            code, message = status_of(exc)
            counts.finish(code)
            return code, message
        counts.finish(Code.OK)
        return Code.OK, ""


def _context(opening: Opening) -> RelayCallContext:
    pairs = opening.metadata
    metadata = {pairs[i].lower(): pairs[i + 1] for i in range(0, len(pairs) - 1, 2)}
    return RelayCallContext(metadata, opening.peer, opening.common_name)


async def _requests(inbox: asyncio.Queue, parse: Callable[[bytes], Any]) -> AsyncIterator[Any]:
    while (raw := await inbox.get()) is not None:
        yield parse(raw)
