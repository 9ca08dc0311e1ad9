"""etcdserverpb.Watch: one bidirectional stream carries many watchers (etcd's v3rpc
watch server).

Requests create watchers, cancel them and ask for progress; responses are the
created/canceled answers and the watchers' events, in the order the stream queued
them (see ``kvcore.watch.stream``). Per watcher the session remembers what etcd's
server remembers: whether it wants prev_kv, fragments, and progress notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterator
from typing import Final

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.mvccpb.kv_pb2 import Event
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.services.auth_guard import watch_refusal
from kvcore.transport import GRPC_OVERHEAD_BYTES, CallContext
from kvcore.watch.stream import WatchError, WatchStream
from kvcore.watch.watcher import ALL_WATCHERS, SharedResponse

# How often a progress request made while a watcher was catching up is tried again.
DEFERRED_PROGRESS_SECONDS: Final = 0.05


class WatchService:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    async def watch(
        self, requests: AsyncIterator[pb.WatchRequest], ctx: CallContext
    ) -> AsyncIterator[pb.WatchResponse]:
        session = _Session(self._server, ctx)
        tasks = [
            asyncio.create_task(session.receive(requests)),
            asyncio.create_task(session.notify_progress()),
        ]
        try:
            while True:
                item = await session.stream.take()
                if isinstance(item, BaseException):
                    raise item  # the request stream broke
                if isinstance(item, pb.WatchResponse):
                    yield item
                    continue
                assert isinstance(item, list)
                for shared in item:
                    for response in session.encode(shared):
                        yield response
        finally:
            for task in tasks:
                task.cancel()
            session.close()


class _Session:
    def __init__(self, server: EtcdServer, ctx: CallContext) -> None:
        self._server = server
        self._ctx = ctx
        self.stream = WatchStream(server.watchable)
        self._prev_kv: set[int] = set()
        self._fragment: set[int] = set()
        # Watchers that asked for progress_notify -> whether the next tick notifies them
        # (an event sent since the last tick makes a notification needless).
        self._progress: dict[int, bool] = {}
        self._deferred_progress: asyncio.Task | None = None

    async def receive(self, requests: AsyncIterator[pb.WatchRequest]) -> None:
        try:
            async for request in requests:
                self.handle(request)
                await self.stream.control_room()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broken request stream ends the call
            self.stream.put(exc)
        # The client closed its side: keep sending, as etcd does, until the call ends.

    def handle(self, request: pb.WatchRequest) -> None:
        kind = request.WhichOneof("request_union")
        if kind == "create_request":
            self._create(request.create_request)
        elif kind == "cancel_request":
            self._cancel(request.cancel_request.watch_id)
        elif kind == "progress_request":
            self._request_progress()

    def _request_progress(self) -> None:
        """One progress response for the stream, or later once every watcher is synced."""
        if self._deferred_progress is None and not self.stream.progress_all():
            self._deferred_progress = asyncio.create_task(self._retry_progress())

    def _create(self, request: pb.WatchCreateRequest) -> None:
        key = request.key or b"\0"  # the smallest key
        end: bytes | None = request.range_end or None
        if end == b"\0":
            end = b""  # every key from ``key`` on
        revision = self.stream.revision
        start = request.start_revision or revision + 1
        dropped = frozenset(_FILTERED_EVENT[f] for f in request.filters if f in _FILTERED_EVENT)
        header = self._server.header(revision)
        # The caller needs READ on the range, checked at each creation as etcd does.
        refusal = watch_refusal(self._server, self._ctx, key, request.range_end)
        try:
            if refusal is not None:
                raise WatchError(refusal)
            watch_id = self.stream.watch(request.watch_id, key, end, start, dropped)
        except WatchError as exc:
            self.stream.put(
                pb.WatchResponse(
                    header=header,
                    watch_id=ALL_WATCHERS,
                    created=True,
                    canceled=True,
                    cancel_reason=str(exc),
                )
            )
            return
        if request.progress_notify:
            self._progress[watch_id] = True
        if request.prev_kv:
            self._prev_kv.add(watch_id)
        if request.fragment:
            self._fragment.add(watch_id)
        self.stream.put(pb.WatchResponse(header=header, watch_id=watch_id, created=True))

    def _cancel(self, watch_id: int) -> None:
        if not self.stream.cancel(watch_id):
            return  # etcd answers nothing for an unknown id
        header = self._server.header(self.stream.revision)
        self.stream.put(pb.WatchResponse(header=header, watch_id=watch_id, canceled=True))
        self._progress.pop(watch_id, None)
        self._prev_kv.discard(watch_id)
        self._fragment.discard(watch_id)

    async def _retry_progress(self) -> None:
        while not self.stream.progress_all():
            await asyncio.sleep(DEFERRED_PROGRESS_SECONDS)
        self._deferred_progress = None

    async def notify_progress(self) -> None:
        """Every interval (plus up to 10 % jitter, as etcd), tell each progress_notify
        watcher that heard no event since the last tick the current revision."""
        interval = self._server.cfg.watch.progress_notify_interval_ms / 1000
        while True:
            await asyncio.sleep(interval + random.uniform(0, interval / 10))
            for watch_id, due in self._progress.items():
                if due:
                    self.stream.progress(watch_id)
                self._progress[watch_id] = True

    def encode(self, shared: SharedResponse) -> Iterator[pb.WatchResponse]:
        """``shared`` on the wire, for each of its watchers: prev_kv filled in if asked,
        split if asked; the others share one encoding of the header and events, to
        which each adds its watch id."""
        body = b""
        for watch_id in shared.watch_ids:
            if watch_id in self._prev_kv or watch_id in self._fragment:
                yield from self._encode_alone(watch_id, shared)
            else:
                if not body:
                    body = self._message(shared).SerializeToString()
                yield pb.WatchResponse.FromString(body + _watch_id_field(watch_id))
            if shared.events and self._progress.get(watch_id):
                self._progress[watch_id] = False  # no progress note due at the next tick

    def _message(self, shared: SharedResponse, watch_id: int = 0) -> pb.WatchResponse:
        return pb.WatchResponse(
            header=self._server.header(shared.revision),
            watch_id=watch_id,
            events=shared.events,
            compact_revision=shared.compact_revision,
            canceled=shared.compact_revision != 0,
        )

    def _encode_alone(self, watch_id: int, shared: SharedResponse) -> list[pb.WatchResponse]:
        out = self._message(shared, watch_id)
        server = self._server
        if watch_id in self._prev_kv:
            for event in out.events:
                _fill_prev_kv(server, event)
        if watch_id in self._fragment:
            # etcd lets a watch response exceed the request limit by the same allowance.
            return fragments(out, server.limits.max_request_bytes + GRPC_OVERHEAD_BYTES)
        return [out]

    def close(self) -> None:
        if self._deferred_progress is not None:
            self._deferred_progress.cancel()
        self.stream.close()


def _watch_id_field(watch_id: int) -> bytes:
    """WatchResponse.watch_id (field 2, an int64 varint) encoded on its own."""
    value = watch_id & 0xFFFF_FFFF_FFFF_FFFF  # negative ids take ten bytes, as int64s do
    out = bytearray(b"\x10")
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_FILTERED_EVENT = {
    pb.WatchCreateRequest.NOPUT: Event.PUT,
    pb.WatchCreateRequest.NODELETE: Event.DELETE,
}


def _fill_prev_kv(server: EtcdServer, event: Event) -> None:
    """The key's version just before ``event``, unless the event created it; left out
    when compaction took it, as etcd does."""
    kv = event.kv
    if event.type == Event.PUT and kv.create_revision == kv.mod_revision:
        return
    with contextlib.suppress(errors.EtcdError):
        found = server.store.range(kv.key, rev=kv.mod_revision - 1)
        if found.kvs:
            event.prev_kv.CopyFrom(found.kvs[0])


def fragments(response: pb.WatchResponse, limit: int) -> list[pb.WatchResponse]:
    """etcd's sendFragments: a response of ``limit`` bytes or more with several events is
    split into responses under ``limit`` (each with at least one event), all but the
    last marked ``fragment``."""
    if response.ByteSize() < limit or len(response.events) < 2:
        return [response]
    shell = pb.WatchResponse()
    shell.CopyFrom(response)
    del shell.events[:]
    shell.fragment = True
    base = shell.ByteSize()
    parts = []
    events = list(response.events)
    index = 0
    while True:
        part = pb.WatchResponse()
        part.CopyFrom(shell)
        size = base
        for event in events[index:]:
            grown = size + _field_size(event.ByteSize())
            if len(part.events) >= 1 and grown >= limit:
                break
            part.events.append(event)
            size = grown
            index += 1
        if index == len(events):
            part.fragment = False
        parts.append(part)
        if not part.fragment:
            return parts


def _field_size(length: int) -> int:
    """Bytes a length-delimited field of tag 11 (events) takes for ``length`` bytes."""
    return 1 + _varint_size(length) + length


def _varint_size(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)
