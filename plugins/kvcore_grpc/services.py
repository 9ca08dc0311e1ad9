"""Maps etcd's protobuf services onto kvcore's handler objects, driven by descriptors.

Every method of every service in the generated ``kvcore.api`` modules is bound to the
handler method of the same name in snake_case (see ``kvcore.transport``), so a new
service the server implements is served with no change here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory

from kvcore import metrics
from kvcore.errors import Code, EtcdError
from kvcore.transport import CallContext, Services, handler_name

log = logging.getLogger(__name__)


def generic_handlers(
    files: Iterable[descriptor.FileDescriptor], services: Services
) -> list[grpc.GenericRpcHandler]:
    """One gRPC generic handler per service that ``services`` implements."""
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for method, fn in bound_methods(files, services):
        by_service.setdefault(method.containing_service.full_name, {})[method.name] = (
            _method_handler(method, fn)
        )
    return [grpc.method_handlers_generic_handler(name, methods)
            for name, methods in by_service.items()]


def bound_methods(
    files: Iterable[descriptor.FileDescriptor], services: Services
) -> Iterator[tuple[descriptor.MethodDescriptor, Callable]]:
    """Every method of ``files`` that ``services`` implements, with its handler (a
    method it lacks is left out: grpc answers UNIMPLEMENTED for it)."""
    for file in files:
        for service in file.services_by_name.values():
            impl = services.get(service.full_name)
            if impl is None:
                continue
            for method in service.methods:
                fn = getattr(impl, handler_name(method.name), None)
                if fn is not None:
                    yield method, fn


def _method_handler(method: descriptor.MethodDescriptor, fn: Callable) -> grpc.RpcMethodHandler:
    kind = metrics.rpc_type(method.client_streaming, method.server_streaming)
    counts = metrics.rpc_counts(method.containing_service.full_name, method.name, kind)
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    codec: dict[str, Any] = {
        "request_deserializer": request_cls.FromString,
        "response_serializer": response_cls.SerializeToString,
    }
    if method.client_streaming and method.server_streaming:
        return grpc.stream_stream_rpc_method_handler(_streaming(fn, counts), **codec)
    if method.server_streaming:
        return grpc.unary_stream_rpc_method_handler(_streaming(fn, counts), **codec)
    if method.client_streaming:
        return grpc.stream_unary_rpc_method_handler(_unary(fn, counts), **codec)
    return grpc.unary_unary_rpc_method_handler(_unary(fn, counts), **codec)


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


def status_of(exc: Exception) -> tuple[Code, str]:
    """etcd's status for a handler's exception; an unexpected one is logged."""
    if isinstance(exc, EtcdError):
        return exc.code, exc.message
    log.exception("handler failed", exc_info=exc)
    return Code.UNKNOWN, str(exc) or type(exc).__name__


async def _abort(ctx: grpc.aio.ServicerContext, exc: Exception, counts: metrics.RpcCounts) -> None:
    """Fail the call with etcd's status for ``exc`` (``ctx.abort`` raises)."""
    code, message = status_of(exc)
    counts.finish(code)
    await ctx.abort(grpc.StatusCode[code.name], message)


def _unary(fn: Callable, counts: metrics.RpcCounts):
    """Also serves client-streaming RPCs: ``fn`` then takes the request iterator."""

    async def call(request, ctx: grpc.aio.ServicerContext):
        counts.start()
        try:
            response = await fn(request, _GrpcCallContext(ctx))
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


def _streaming(fn: Callable[[Any, CallContext], AsyncIterator], counts: metrics.RpcCounts):
    """Server-streaming and bidirectional RPCs: ``fn`` returns an async iterator."""

    async def call(request_or_iterator, ctx: grpc.aio.ServicerContext):
        counts.start()
        try:
            async for response in fn(request_or_iterator, _GrpcCallContext(ctx)):
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
