"""What etcd's v3lock and v3election servers do through their in-process client and its
concurrency package (Session, waitDeletes), done inside kvcore's server.

Reads and writes go through the KV and Lease handlers with the caller's context, so a
recipe's request is validated, charged against the quota and answered as the same
request from a client would be. Watches subscribe to the watchable store directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Iterator

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.mvccpb.kv_pb2 import Event
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.services.auth_guard import AuthGuard
from kvcore.server.services.kv import KVService
from kvcore.server.services.lease import LeaseService
from kvcore.transport import CallContext
from kvcore.watch.stream import AUTO_WATCH_ID, WatchStream
from kvcore.watch.watcher import WatchResponse

# concurrency's defaultSessionTTL: the TTL of the lease a request with lease 0 is given.
SESSION_TTL = 60
ASCEND = pb.RangeRequest.ASCEND
DESCEND = pb.RangeRequest.DESCEND


def prefix_end(prefix: bytes) -> bytes:
    """The range end of every key starting with ``prefix`` (clientv3's WithPrefix)."""
    end = bytearray(prefix)
    while end and end[-1] == 0xFF:
        end.pop()
    if not end:
        return b"\0"
    end[-1] += 1
    return bytes(end)


def session_key(prefix: bytes, lease: int) -> bytes:
    """A session's key under ``prefix``: the lease id in lower-case hex, as etcd's."""
    return prefix + f"{lease:x}".encode()


def created_at(key: bytes, revision: int) -> pb.Compare:
    """The comparison "``key`` was created at ``revision``" (0: it does not exist)."""
    return pb.Compare(
        key=key, target=pb.Compare.CREATE, result=pb.Compare.EQUAL, create_revision=revision
    )


def by_create(prefix: bytes, order: int, max_create_revision: int = 0) -> pb.RangeRequest:
    """clientv3's WithFirstCreate (ASCEND) or WithLastCreate (DESCEND) on ``prefix``."""
    return pb.RangeRequest(
        key=prefix,
        range_end=prefix_end(prefix),
        limit=1,
        sort_order=order,
        sort_target=pb.RangeRequest.CREATE,
        max_create_revision=max_create_revision,
    )


async def withdraw(cleanup: Awaitable[object]) -> None:
    """Run ``cleanup`` for a call that failed or was given up, to its end even if the
    call is cancelled again; its own failure is dropped, as etcd drops it."""
    with contextlib.suppress(Exception):
        await asyncio.shield(cleanup)


@contextlib.contextmanager
def _as_client_error() -> Iterator[None]:
    """etcd's recipes make their calls through a client whose errors carry no gRPC
    status: the recipe's caller gets each one's message with code Unknown."""
    try:
        yield
    except errors.EtcdError as exc:
        raise _client_error(exc) from exc


def _client_error(exc: errors.EtcdError) -> errors.EtcdError:
    return errors.EtcdError(errors.Code.UNKNOWN, exc.message)


class Client:
    """The calls a recipe makes, each on behalf of the caller whose ``ctx`` it passes.
    Every failure is an EtcdError with code Unknown (see ``_as_client_error``)."""

    def __init__(self, server: EtcdServer) -> None:
        self._server = server
        # Guarded as the client's own calls are: a recipe reads and writes only what its
        # caller may (etcd's recipes call KV and Lease through a client with its token).
        self._kv = AuthGuard(server, "etcdserverpb.KV", KVService(server))
        self._lease = AuthGuard(server, "etcdserverpb.Lease", LeaseService(server))

    async def session_lease(self, lease: int, ctx: CallContext) -> int:
        """The lease a request's keys live on: its own, or for 0 a new lease of
        SESSION_TTL seconds that nobody keeps alive (etcd's orphaned session)."""
        if lease:
            return lease
        with _as_client_error():
            granted = await self._lease.lease_grant(pb.LeaseGrantRequest(TTL=SESSION_TTL), ctx)
        return granted.ID

    async def get(self, request: pb.RangeRequest, ctx: CallContext) -> pb.RangeResponse:
        with _as_client_error():
            return await self._kv.range(request, ctx)

    async def txn(self, request: pb.TxnRequest, ctx: CallContext) -> pb.TxnResponse:
        with _as_client_error():
            return await self._kv.txn(request, ctx)

    async def delete(self, key: bytes, ctx: CallContext) -> pb.DeleteRangeResponse:
        with _as_client_error():
            return await self._kv.delete_range(pb.DeleteRangeRequest(key=key), ctx)

    async def first_created(self, prefix: bytes, ctx: CallContext) -> pb.RangeResponse:
        """The oldest key under ``prefix``: a lock's holder, an election's leader."""
        return await self.get(by_create(prefix, ASCEND), ctx)

    async def wait_deletes(self, prefix: bytes, max_create_revision: int, ctx: CallContext) -> None:
        """Return once no key under ``prefix`` created at or before
        ``max_create_revision`` is left. Each round waits for the deletion of the newest
        such key alone (etcd's waitDeletes), so a queue of waiters wakes one at a time,
        not as a herd."""
        request = by_create(prefix, DESCEND, max_create_revision)
        while True:
            found = await self.get(request, ctx)
            if not found.kvs:
                return
            await self._wait_delete(found.kvs[0].key, found.header.revision)

    async def _wait_delete(self, key: bytes, start: int) -> None:
        async with contextlib.aclosing(self.events(key, None, start)) as seen:
            async for _, event in seen:
                if event.type == Event.DELETE:
                    return
        # The watch was compacted away: etcd's waitDelete fails with the watch's error.
        raise _client_error(errors.COMPACTED)

    async def events(
        self, key: bytes, end: bytes | None, start: int
    ) -> AsyncIterator[tuple[int, Event]]:
        """Each event on the keys from revision ``start`` on, with its response's
        revision, until the watch is compacted away. Close it when done
        (``contextlib.aclosing``)."""
        stream = WatchStream(self._server.watchable)
        try:
            stream.watch(AUTO_WATCH_ID, key, end, start)
            while True:
                response = await stream.get()
                assert isinstance(response, WatchResponse)
                if response.compact_revision:
                    return
                for event in response.events:
                    yield response.revision, event
        finally:
            stream.close()
