"""Maps etcd's protobuf services onto kvcore's handler objects, driven by descriptors.

Every method of every service in the generated ``kvcore.api`` modules is bound to the
handler method of the same name in snake_case (see ``kvcore.transport``), so a new
service the server implements is served with no change here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory

from kvcore import metrics
from kvcore.errors import Code, message_too_large
from kvcore.rpc import bound_methods, status_of
from kvcore.transport import CallContext, Services

log = logging.getLogger(__name__)


def generic_handlers(
    files: Iterable[descriptor.FileDescriptor], services: Services, max_receive: int
) -> list[grpc.GenericRpcHandler]:
    """One gRPC generic handler per service that ``services`` implements; a request
    message over ``max_receive`` bytes fails its call as etcd's grpc-go fails it (the
    server's own grpc limit must lie above: ``receive_ceiling``)."""
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for method, fn in bound_methods(files, services):
        by_service.setdefault(method.containing_service.full_name, {})[method.name] = (
            _method_handler(method, fn, max_receive)
        )
    return [grpc.method_handlers_generic_handler(name, methods)
            for name, methods in by_service.items()]


def receive_ceiling(max_receive: int) -> int:
    """grpc's own receive limit for a server whose handlers enforce ``max_receive``:
    above it, so that etcd's limit fails a call with etcd's text; past this one, grpc
    core refuses the message itself (same code, its own words)."""
    return max(4 * max_receive, 64 * 1024 * 1024)


class _Oversized:
    """Stands for a request message over the limit, for the handler to fail."""

    __slots__ = ("error",)

    def __init__(self, size: int, limit: int) -> None:
        self.error = message_too_large(size, limit)


def _bounded(parse: Callable[[bytes], Any], limit: int) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        return _Oversized(len(data), limit) if len(data) > limit else parse(data)

    return deserialize


async def _bounded_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if type(request) is _Oversized:
            raise request.error
        yield request


def _method_handler(
    method: descriptor.MethodDescriptor, fn: Callable, max_receive: int
) -> grpc.RpcMethodHandler:
    kind = metrics.rpc_type(method.client_streaming, method.server_streaming)
    counts = metrics.rpc_counts(method.containing_service.full_name, method.name, kind)
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    codec: dict[str, Any] = {
        "request_deserializer": _bounded(request_cls.FromString, max_receive),
        "response_serializer": response_cls.SerializeToString,
    }
    streamed = method.client_streaming
    if method.server_streaming:
        call = _streaming(fn, counts, streamed)
        if streamed:
            return grpc.stream_stream_rpc_method_handler(call, **codec)
        return grpc.unary_stream_rpc_method_handler(call, **codec)
    if streamed:
        return grpc.stream_unary_rpc_method_handler(_unary(fn, counts, streamed), **codec)
    return grpc.unary_unary_rpc_method_handler(_unary(fn, counts, streamed), **codec)


def _admitted(request_or_iterator: Any, streamed: bool) -> Any:
    """The call's request, or its request stream, with oversized messages raised."""
    if streamed:
        return _bounded_stream(request_or_iterator)
    if type(request_or_iterator) is _Oversized:
        raise request_or_iterator.error
    return request_or_iterator


class _GrpcCallContext:
    """A CallContext read from the gRPC call only when a handler asks."""

    def __init__(self, ctx: grpc.aio.ServicerContext) -> None:
        self._ctx = ctx

    @functools.cached_property
    def metadata(self) -> dict[str, str]:
        # HTTP/2 carries header names in lower case, so grpc hands them over so.
        return dict(self._ctx.invocation_metadata() or ())

    @functools.cached_property
    def peer(self) -> str:
        return self._ctx.peer()

    @functools.cached_property
    def common_name(self) -> str:
        # Present only when the listener asked for a client certificate and grpc
        # verified it against the CA (client_cert_auth).
        names = self._ctx.auth_context().get("x509_common_name")
        return names[0].decode() if names else ""


async def _abort(ctx: grpc.aio.ServicerContext, exc: Exception, counts: metrics.RpcCounts) -> None:
    """Fail the call with etcd's status for ``exc`` (``ctx.abort`` raises)."""
    code, message = status_of(exc)
    counts.finish(code)
    await ctx.abort(grpc.StatusCode[code.name], message)


def _unary(fn: Callable, counts: metrics.RpcCounts, streamed: bool):
    """Also serves client-streaming RPCs (``streamed``): ``fn`` then takes the request
    iterator."""

    async def call(request, ctx: grpc.aio.ServicerContext):
        counts.start()
        try:
            response = await fn(_admitted(request, streamed), _GrpcCallContext(ctx))
        except grpc.aio.AbortError:
            raise
        except asyncio.CancelledError:
            counts.finish(Code.CANCELLED)
            raise
        except Exception as exc:
            await _abort(ctx, exc, counts)
        counts.finish(Code.OK)
        return response

    return call


def _streaming(
    fn: Callable[[Any, CallContext], AsyncIterator], counts: metrics.RpcCounts, streamed: bool
):
    """Server-streaming and bidirectional (``streamed``) RPCs: ``fn`` returns an async
    iterator."""

    async def call(request_or_iterator, ctx: grpc.aio.ServicerContext):
        counts.start()
        try:
            requests = _admitted(request_or_iterator, streamed)
            async for response in fn(requests, _GrpcCallContext(ctx)):
                yield response
        except grpc.aio.AbortError:
            raise
        except asyncio.CancelledError:
            counts.finish(Code.CANCELLED)
            raise
        except Exception as exc:
            await _abort(ctx, exc, counts)
        counts.finish(Code.OK)

    return call
