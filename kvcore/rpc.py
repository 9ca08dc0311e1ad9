"""etcd's RPCs as the handler objects serve them, for any transport that speaks gRPC's
framing: which files define the services, which handler method serves each RPC, and
the status a handler's exception fails its call with."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from google.protobuf import descriptor

from kvcore.api.etcdserverpb import rpc_pb2
from kvcore.api.v3electionpb import v3election_pb2
from kvcore.api.v3lockpb import v3lock_pb2
from kvcore.errors import Code, EtcdError
from kvcore.transport import Services, handler_name

log = logging.getLogger(__name__)

# Every etcd API file kvcore serves services from.
API_FILES = (rpc_pb2.DESCRIPTOR, v3lock_pb2.DESCRIPTOR, v3election_pb2.DESCRIPTOR)


def bound_methods(
    files: Iterable[descriptor.FileDescriptor], services: Services
) -> Iterator[tuple[descriptor.MethodDescriptor, Callable]]:
    """Every method of ``files`` that ``services`` implements, with its handler (a
    method it lacks is left out: the transport answers UNIMPLEMENTED for it)."""
    for file in files:
        for service in file.services_by_name.values():
            impl = services.get(service.full_name)
            if impl is None:
                continue
            for method in service.methods:
                fn = getattr(impl, handler_name(method.name), None)
                if fn is not None:
                    yield method, fn


def status_of(exc: Exception) -> tuple[Code, str]:
    """etcd's status for a handler's exception; an unexpected one is logged."""
    if isinstance(exc, EtcdError):
        return exc.code, exc.message
    log.exception("handler failed", exc_info=exc)
    return Code.UNKNOWN, str(exc) or type(exc).__name__
