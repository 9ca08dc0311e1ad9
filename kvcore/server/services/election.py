"""v3electionpb.Election, the RPCs that need no lease: Leader and Observe (etcd's
v3election server over client/v3/concurrency's Election).

An election ``name`` is the key prefix ``name/``; each candidate holds one key under it
and the leader is the key created first.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.mvccpb.kv_pb2 import Event
from kvcore.api.v3electionpb import v3election_pb2 as epb
from kvcore.server.etcdserver import EtcdServer
from kvcore.transport import CallContext
from kvcore.watch.stream import AUTO_WATCH_ID, WatchStream
from kvcore.watch.watcher import WatchResponse

NO_LEADER = errors.EtcdError(errors.Code.UNKNOWN, "election: no leader")


class ElectionService:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    async def leader(self, request: epb.LeaderRequest, ctx: CallContext) -> epb.LeaderResponse:
        found = await self._first_created(request.name + b"/")
        if not found.kvs:
            raise NO_LEADER
        return epb.LeaderResponse(header=found.header, kv=found.kvs[0])

    async def observe(
        self, request: epb.LeaderRequest, ctx: CallContext
    ) -> AsyncIterator[epb.LeaderResponse]:
        """Every leader in turn and each new value it proclaims, as etcd's Observe: it
        may skip leaders that come and go between two looks, never the current one."""
        server = self._server
        prefix = request.name + b"/"
        while True:
            found = await self._first_created(prefix)
            if found.kvs:
                header, kv = found.header, found.kvs[0]
            else:
                # No candidate yet: the first key put under the prefix leads.
                start = found.header.revision
                watch = _events(server, prefix, _prefix_end(prefix), start)
                async with contextlib.aclosing(watch) as events:
                    async for _, event in events:
                        if event.type == Event.PUT:
                            break
                    else:
                        return
                kv = event.kv
                header = server.header(kv.mod_revision)
            yield epb.LeaderResponse(header=header, kv=kv)
            watch = _events(server, kv.key, None, header.revision + 1)
            async with contextlib.aclosing(watch) as events:
                async for revision, event in events:
                    if event.type == Event.DELETE:
                        break  # the next candidate leads: look again
                    yield epb.LeaderResponse(header=server.header(revision), kv=event.kv)
                else:
                    return

    async def _first_created(self, prefix: bytes) -> pb.RangeResponse:
        server = self._server
        await server.linearizable_read()
        request = pb.RangeRequest(
            key=prefix,
            range_end=_prefix_end(prefix),
            limit=1,
            sort_order=pb.RangeRequest.ASCEND,
            sort_target=pb.RangeRequest.CREATE,
        )
        return server.stamp(server.kv.range(request))


async def _events(
    server: EtcdServer, key: bytes, end: bytes | None, start: int
) -> AsyncIterator[tuple[int, Event]]:
    """Each event on the keys from ``start`` on, with its response's revision, until
    the watch is compacted away (which ends an observation, as a broken watch ends
    etcd's)."""
    stream = WatchStream(server.watchable)
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


def _prefix_end(prefix: bytes) -> bytes:
    return prefix[:-1] + bytes([prefix[-1] + 1])  # the prefix ends in "/"
