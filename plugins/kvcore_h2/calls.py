"""gRPC calls on HTTP/2 streams: requests read from a stream's DATA, handlers run as
tasks, answers and statuses written back (gRPC over HTTP/2, as grpc-go frames it).

Statuses a transport gives itself - an unknown method, a message over the receive
limit, a bad content type - carry grpc-go's words, since etcd's clients meet those.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor, message, message_factory

from kvcore import metrics
from kvcore.errors import Code, EtcdError, message_too_large
from kvcore.rpc import API_FILES, bound_methods, status_of
from kvcore.transport import Services, StaticCallContext

from .connection import H2Connection, Stream
from .frames import OK_TRAILERS, RESPONSE_HEADERS, FrameType, status_trailers

_PREFIX = 5  # compressed flag and length in front of every message
_END = object()  # ends a request stream
_TIMEOUT_UNITS = {b"H": 3600.0, b"M": 60.0, b"S": 1.0, b"m": 1e-3, b"u": 1e-6, b"n": 1e-9}
_DECOMPRESS: dict[bytes, Callable[[bytes], bytes]] = {
    b"gzip": gzip.decompress,
    b"deflate": zlib.decompress,
}
# Request headers that are gRPC's or HTTP's, not the caller's metadata.
_NOT_METADATA = frozenset(
    {b"content-type", b"te", b"grpc-timeout", b"grpc-encoding", b"grpc-accept-encoding"}
)


@dataclass(frozen=True, slots=True)
class Method:
    fn: Callable
    parse: Callable[[bytes], Any]
    client_streaming: bool
    server_streaming: bool
    counts: metrics.RpcCounts


class Router:
    """Finds the handler for a new stream's ``:path`` and starts its call."""

    def __init__(self, services: Services, max_receive: int) -> None:
        self.max_receive = max_receive
        self.methods: dict[bytes, Method] = {}
        self.services = set(services)  # the registered ones: others are unknown
        for method, fn in bound_methods(API_FILES, services):
            self.methods[f"/{method.containing_service.full_name}/{method.name}".encode()] = (
                _method(method, fn)
            )

    def open(self, conn: H2Connection, stream: Stream, headers: list[tuple[bytes, bytes]]):
        return GrpcCall(self, conn, stream, headers)


def _method(method: descriptor.MethodDescriptor, fn: Callable) -> Method:
    kind = metrics.rpc_type(method.client_streaming, method.server_streaming)
    service = method.containing_service.full_name
    return Method(
        fn=fn,
        parse=message_factory.GetMessageClass(method.input_type).FromString,
        client_streaming=method.client_streaming,
        server_streaming=method.server_streaming,
        counts=metrics.rpc_counts(service, method.name, kind),
    )


class GrpcCall:
    """One call: reads its request messages, runs its handler, writes its answer."""

    __slots__ = (
        "_buf",
        "_conn",
        "_ctx",
        "_deadline",
        "_decompress",
        "_done",
        "_expired",
        "_headers_sent",
        "_method",
        "_requests",
        "_router",
        "_started",
        "_stream",
        "_task",
    )

    def __init__(
        self,
        router: Router,
        conn: H2Connection,
        stream: Stream,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self._router = router
        self._conn = conn
        self._stream = stream
        self._buf = bytearray()  # the start of a message still arriving
        self._task: asyncio.Task | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._requests: asyncio.Queue | None = None
        self._decompress: Callable[[bytes], bytes] | None = None
        self._method: Method | None = None
        self._started = False
        self._headers_sent = False
        self._expired = False
        self._done = False  # the status is written (or the stream is gone)
        path = content_type = timeout = encoding = None
        metadata: dict[str, str] = {}
        for name, value in headers:
            if name[:1] == b":":
                if name == b":path":
                    path = value
            elif name == b"content-type":
                content_type = value
            elif name == b"grpc-timeout":
                timeout = value
            elif name == b"grpc-encoding":
                encoding = value
            elif name not in _NOT_METADATA:
                metadata[name.decode("latin-1")] = value.decode("latin-1")
        self._ctx = StaticCallContext(metadata, conn.peer, conn.common_name)
        if content_type is None or not content_type.startswith(b"application/grpc"):
            self._finish(Code.INTERNAL, f"invalid gRPC request content-type {content_type!r}")
            return
        method = router.methods.get(path or b"")
        if method is None:
            self._finish(Code.UNIMPLEMENTED, _unknown(path or b"", router.services))
            return
        self._method = method
        if encoding not in (None, b"identity"):
            self._decompress = _DECOMPRESS.get(encoding)
            if self._decompress is None:
                name = encoding.decode("latin-1")
                self._finish(
                    Code.UNIMPLEMENTED,
                    f'grpc: Decompressor is not installed for grpc-encoding "{name}"',
                )
                return
        if timeout is not None:
            seconds = _timeout(timeout)
            if seconds is None:
                self._finish(Code.INTERNAL, f"malformed grpc-timeout: {timeout.decode('latin-1')}")
                return
            self._deadline = asyncio.get_running_loop().call_later(seconds, self._expire)
        if method.client_streaming:
            self._requests = asyncio.Queue()
            self._start(self._run(self._request_stream()))

    # --- from the connection ------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        if self._done:
            return
        buf = self._buf
        if buf:
            buf += data  # a message spread over frames grows in place
        else:
            buf = data
        at, end, limit = 0, len(buf), self._router.max_receive
        while end - at >= _PREFIX:
            size = int.from_bytes(buf[at + 1 : at + 5], "big")
            if size > limit:
                self._fail(message_too_large(size, limit))
                return
            if end - at - _PREFIX < size:
                break
            compressed = buf[at]
            payload = bytes(buf[at + _PREFIX : at + _PREFIX + size])
            at += _PREFIX + size
            if not self._message(payload, compressed):
                return
        if at == end:
            self._buf = bytearray()
        elif at or buf is not self._buf:
            self._buf = bytearray(buf[at:])

    def end_of_requests(self) -> None:
        if self._done:
            return
        if self._requests is not None:
            self._requests.put_nowait(_END)
        elif not self._started:
            self._finish(Code.INTERNAL, "unexpected EOF")

    def cancel(self) -> None:
        """The stream was reset or the connection lost: stop the handler."""
        if self._done:
            return
        self._done = True
        self._cancel_deadline()
        if self._started and self._method is not None:
            self._method.counts.finish(Code.CANCELLED)
        if self._task is not None:
            self._task.cancel()

    # --- requests -----------------------------------------------------------------------

    def _message(self, payload: bytes, compressed: int) -> bool:
        """Hand one request message on; False if the call failed."""
        method = self._method
        assert method is not None
        try:
            if compressed:
                if self._decompress is None:
                    raise EtcdError(
                        Code.INTERNAL, "grpc: compressed flag set with identity or empty encoding"
                    )
                payload = self._decompress(payload)
                if len(payload) > self._router.max_receive:
                    raise message_too_large(len(payload), self._router.max_receive)
            request = method.parse(payload)
        except EtcdError as exc:
            self._fail(exc)
            return False
        except (message.DecodeError, OSError, zlib.error) as exc:
            self._fail(EtcdError(Code.INTERNAL, f"grpc: error unmarshalling request: {exc}"))
            return False
        if self._requests is not None:
            self._requests.put_nowait(request)
        elif self._started:
            self._fail(
                EtcdError(Code.UNIMPLEMENTED, "grpc: received more than one request message")
            )
            return False
        else:
            self._start(self._run(request))
        return True

    async def _request_stream(self) -> AsyncIterator[Any]:
        assert self._requests is not None
        while (request := await self._requests.get()) is not _END:
            yield request

    # --- running the handler ------------------------------------------------------------

    def _start(self, coro) -> None:
        self._started = True
        self._task = asyncio.get_running_loop().create_task(coro)

    async def _run(self, request_or_stream: Any) -> None:
        """Run the handler: a coroutine for a unary or client-streaming call, an async
        iterator for a server-streaming or bidirectional one."""
        method = self._method
        assert method is not None
        method.counts.start()
        conn, stream = self._conn, self._stream
        try:
            if not method.server_streaming:
                response = await method.fn(request_or_stream, self._ctx)
                self._send_message(response.SerializeToString())
            else:
                # Closed here, in this task, if it ends early: a handler's context
                # (the caller it runs as) belongs to the task.
                async with contextlib.aclosing(method.fn(request_or_stream, self._ctx)) as answers:
                    async for response in answers:
                        self._send_message(response.SerializeToString())
                        await conn.writable(stream)
                        if self._done:
                            return
        except asyncio.CancelledError:
            self._cancelled()
            return
        except Exception as exc:
            self._fail(exc)
            return
        self._finish(Code.OK, "")

    def _send_message(self, data: bytes) -> None:
        if self._done:
            return
        if not self._headers_sent:
            self._headers_sent = True
            self._conn.send(self._stream, FrameType.HEADERS, RESPONSE_HEADERS)
        self._conn.send(self._stream, FrameType.DATA, _framed(data))

    def _cancelled(self) -> None:
        """The handler's task was cancelled: by the deadline, or by ``cancel`` or
        ``_fail``, which wrote (or need not write) the status."""
        if self._expired:
            self._finish_expired()

    def _expire(self) -> None:
        self._deadline = None
        self._expired = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        else:
            self._finish_expired()

    def _finish_expired(self) -> None:
        # etcd's stream handlers (Watch, LeaseKeepAlive) return the context's error as
        # it is, which grpc-go sends as Unknown; its unary ones convert it.
        method = self._method
        bidi = method is not None and method.client_streaming and method.server_streaming
        self._finish(Code.UNKNOWN if bidi else Code.DEADLINE_EXCEEDED, "context deadline exceeded")

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    # --- the status -----------------------------------------------------------------------

    def _fail(self, exc: Exception) -> None:
        code, text = status_of(exc)
        self._finish(code, text)
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    def _finish(self, code: Code, text: str) -> None:
        """Write the status: as trailers after an answer, else as a trailers-only
        response (headers and status in one frame)."""
        if self._done:
            return
        self._done = True
        self._cancel_deadline()
        if self._started and self._method is not None:
            self._method.counts.finish(code)
        trailers = status_trailers(code, text) if code or text else OK_TRAILERS
        if not self._headers_sent:
            trailers = RESPONSE_HEADERS + trailers
        self._conn.send(self._stream, FrameType.HEADERS, trailers, end=True)


def _framed(data: bytes) -> bytes:
    return b"\x00" + len(data).to_bytes(4, "big") + data


def _timeout(value: bytes) -> float | None:
    """grpc-timeout (``100m``, ``5S``) in seconds; None if malformed."""
    unit = _TIMEOUT_UNITS.get(value[-1:])
    digits = value[:-1]
    if unit is None or not digits.isdigit() or len(digits) > 8:
        return None
    return int(digits) * unit


def _unknown(path: bytes, services: set[str]) -> str:
    """grpc-go's words for a path no handler serves."""
    text = path.decode("latin-1")
    service, _, name = text.lstrip("/").rpartition("/")
    if not service or service not in services:
        return f"unknown service {service or text}"
    return f"unknown method {name} for service {service}"
