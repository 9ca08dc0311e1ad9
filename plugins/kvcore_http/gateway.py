"""aiohttp handlers that serve one gateway route each, the way etcd's gateway answers.

* Unary RPC: the body is the request; the answer is the response, or an error body
  ``{"error", "message", "code"}`` with the HTTP status of the gRPC code.
* Server-streaming RPC (snapshot): the body is the request; each response is written
  as ``{"result": ...}`` and a newline. A failure is written as the stream error body;
  before the first response it also sets the HTTP status.
* Bidirectional RPC (watch, keepalive): the body is a sequence of JSON requests, read
  as they arrive; the first is decoded before the call starts (a bad one fails the call
  as etcd's gateway fails it, with code Unknown), and one that does not decode later
  ends the requests, as the gateway's CloseSend does. Responses stream as above.

The ``Authorization`` header reaches handlers as the ``authorization`` metadata, and
headers named ``Grpc-Metadata-<key>`` as ``<key>``, as grpc-gateway forwards them (the
token is read from ``token``, else ``authorization``, as etcd reads it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from google.protobuf.message import Message

from kvcore.errors import Code, EtcdError, message_too_large

from . import codec
from .routes import Route

log = logging.getLogger(__name__)

JSON = "application/json"
_METADATA_PREFIX = "grpc-metadata-"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpCallContext:
    """A CallContext read from the HTTP request only when a handler asks."""

    def __init__(self, request: web.Request) -> None:
        self._request = request

    @functools.cached_property
    def metadata(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for name, value in self._request.headers.items():
            key = name.lower()
            if key == "authorization":
                found.setdefault(key, value)
            elif key.startswith(_METADATA_PREFIX):
                found[key[len(_METADATA_PREFIX) :]] = value
        return found

    @functools.cached_property
    def peer(self) -> str:
        peername = self._request.transport and self._request.transport.get_extra_info("peername")
        if not peername:
            return ""
        host, port = peername[0], peername[1]
        # In gRPC's form, as the gRPC transport reports a peer.
        return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"


def handler_for(route: Route, max_message_bytes: int) -> Handler:
    """The aiohttp handler of ``route``; a request message larger than
    ``max_message_bytes`` is refused as etcd's gRPC server refuses it."""
    if route.client_streaming and route.server_streaming:
        return functools.partial(_bidi, route, max_message_bytes)
    if route.server_streaming:
        return functools.partial(_server_streaming, route, max_message_bytes)
    if route.client_streaming:
        raise ValueError(f"{route.path}: etcd's gateway serves no client-streaming RPC")
    return functools.partial(_unary, route, max_message_bytes)


# The gRPC server's header metadata, which grpc-gateway passes on with a call's answer
# (a failed call's comes as a trailer, which is left out here).
_CALL_HEADERS = {"Grpc-Metadata-Content-Type": "application/grpc"}


def _error(code: Code, message: str) -> web.Response:
    return web.Response(
        status=codec.HTTP_STATUS[code],
        body=codec.error_body(code, message),
        content_type=JSON,
    )


def _check_size(message: Message, limit: int) -> Message:
    size = message.ByteSize()
    if size > limit:
        raise message_too_large(size, limit)
    return message


async def _read_request(route: Route, request: web.Request, limit: int) -> Message:
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise EtcdError(Code.RESOURCE_EXHAUSTED, exc.text or exc.reason) from None
    try:
        message = codec.decode(body, route.request_cls)
    except codec.BadRequestBody as exc:
        raise EtcdError(Code.INVALID_ARGUMENT, str(exc)) from None
    return _check_size(message, limit)


async def _unary(route: Route, limit: int, request: web.Request) -> web.StreamResponse:
    if route.unimplemented is not None:
        return _error(route.unimplemented.code, route.unimplemented.message)
    counts = route.counts
    try:
        message = await _read_request(route, request, limit)
    except EtcdError as exc:
        return _error(exc.code, exc.message)
    counts.start()
    try:
        response = await route.handler(message, HttpCallContext(request))
    except asyncio.CancelledError:
        counts.finish(Code.CANCELLED)
        raise
    except Exception as exc:
        code, text = _failed(route, exc)
        counts.finish(code)
        return _error(code, text)
    counts.finish(Code.OK)
    return web.Response(body=codec.encode(response), content_type=JSON, headers=_CALL_HEADERS)


async def _server_streaming(route: Route, limit: int, request: web.Request) -> web.StreamResponse:
    try:
        message = await _read_request(route, request, limit)
    except EtcdError as exc:
        return _error(exc.code, exc.message)
    return await _stream(route, request, message)


async def _bidi(route: Route, limit: int, request: web.Request) -> web.StreamResponse:
    requests = _json_requests(request, route, limit)
    try:
        first = await anext(requests, None)
    except codec.BadRequestBody as exc:
        return _error(Code.UNKNOWN, str(exc))
    except EtcdError as exc:
        return _error(exc.code, exc.message)
    return await _stream(route, request, _resumed(first, requests))


async def _stream(route: Route, request: web.Request, arg: Any) -> web.StreamResponse:
    counts = route.counts
    response: web.StreamResponse | None = None

    async def start(status: int, called: bool = True) -> web.StreamResponse:
        headers = {"Content-Type": JSON, **(_CALL_HEADERS if called else {})}
        answer = web.StreamResponse(status=status, headers=headers)
        answer.enable_chunked_encoding()
        await answer.prepare(request)
        return answer

    if route.unimplemented is not None:
        code, text = route.unimplemented.code, route.unimplemented.message
        response = await start(codec.HTTP_STATUS[code], called=False)
        await response.write(codec.stream_error_body(code, text))
        await response.write_eof()
        return response
    counts.start()
    try:
        async with contextlib.aclosing(route.handler(arg, HttpCallContext(request))) as out:
            async for message in out:
                if response is None:
                    response = await start(200)
                await response.write(codec.encode_result(message))
    except asyncio.CancelledError:
        counts.finish(Code.CANCELLED)
        raise
    except ConnectionResetError:
        counts.finish(Code.CANCELLED)  # the client went away
        raise
    except Exception as exc:
        code, text = _failed(route, exc)
        counts.finish(code)
        if response is None:
            response = await start(codec.HTTP_STATUS[code])
        await response.write(codec.stream_error_body(code, text))
    else:
        counts.finish(Code.OK)
    if response is None:
        response = await start(200)
    await response.write_eof()
    return response


def _failed(route: Route, exc: Exception) -> tuple[Code, str]:
    if not isinstance(exc, EtcdError):
        log.exception("%s failed", route.path, exc_info=exc)
    return codec.failure(exc)


async def _resumed(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    if first is None:
        return
    yield first
    async for message in rest:
        yield message


async def _json_requests(request: web.Request, route: Route, limit: int) -> AsyncIterator[Message]:
    """Request messages from a body of concatenated JSON values, as they arrive.

    Only the first may raise (:class:`codec.BadRequestBody`, or the EtcdError of a
    message over the limit); a later bad one ends the requests.
    """
    pending = b""
    first = True
    async for chunk, final in _chunks(request):
        pending += chunk
        while pending := pending.lstrip(codec.JSON_SPACE):
            try:
                decoded = codec.decode_first(pending, route.request_cls, final)
                if decoded is None:
                    break  # wait for more of the body
                message, end = decoded
                _check_size(message, limit)
            except (codec.BadRequestBody, EtcdError):
                if first:
                    raise
                return
            pending = pending[end:]
            yield message
            first = False


async def _chunks(request: web.Request) -> AsyncIterator[tuple[bytes, bool]]:
    """The body as it arrives, each piece with whether it is the last (the last is
    empty: the body ended)."""
    async for chunk in request.content.iter_any():
        yield chunk, False
    yield b"", True
