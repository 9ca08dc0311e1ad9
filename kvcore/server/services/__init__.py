"""etcd's gRPC services as transport-independent handler objects (see kvcore.transport)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from kvcore import errors
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.services.auth import AuthService
from kvcore.server.services.auth_guard import AuthGuard
from kvcore.server.services.cluster import ClusterService
from kvcore.server.services.election import ElectionService
from kvcore.server.services.kv import KVService
from kvcore.server.services.lease import LeaseService
from kvcore.server.services.lock import LockService
from kvcore.server.services.maintenance import MaintenanceService
from kvcore.server.services.watch import WatchService
from kvcore.transport import CallContext, Services

# The metadata key and value with which a client asks to be failed rather than served
# while the member knows no leader (clientv3's WithRequireLeader).
REQUIRE_LEADER_KEY = "hasleader"
REQUIRE_LEADER_VALUE = "true"
# Besides serializable Ranges, what a learner serves (etcd's interceptors).
_LEARNER_CALLS = frozenset(
    {("etcdserverpb.Maintenance", "status"), ("etcdserverpb.Maintenance", "snapshot")}
)


def build(server: EtcdServer) -> Services:
    """Every service this node serves, by protobuf service name."""
    return {
        name: _Interceptor(server, name, AuthGuard(server, name, impl))
        for name, impl in {
            "etcdserverpb.KV": KVService(server),
            "etcdserverpb.Auth": AuthService(server),
            "etcdserverpb.Cluster": ClusterService(server),
            "etcdserverpb.Lease": LeaseService(server),
            "etcdserverpb.Maintenance": MaintenanceService(server),
            "etcdserverpb.Watch": WatchService(server),
            "v3electionpb.Election": ElectionService(server),
            "v3lockpb.Lock": LockService(server),
        }.items()
    }


class _Interceptor:
    """What etcd's gRPC interceptors check before any handler runs, in their order:

    * a learner serves only Status, serializable Ranges and Snapshot streams; any other
      call gets "rpc not supported for learner" (Unavailable, so that clients try
      another member);
    * a call that carries ``hasleader: true`` fails with "no leader" while this member
      knows no leader (clientv3's WithRequireLeader), and such a stream ends with it
      once the member loses its leader.
    """

    def __init__(self, server: EtcdServer, service: str, impl: object) -> None:
        self._server = server
        self._service = service
        self._impl = impl

    def __getattr__(self, name: str) -> Any:
        handler = getattr(self._impl, name)
        server = self._server
        call = (self._service, name)

        def guarded(request: Any, ctx: CallContext) -> Any:
            local = server.membership.get(server.identity.member_id)
            if local is not None and local.is_learner and not _learner_serves(call, request):
                raise errors.NOT_SUPPORTED_FOR_LEARNER
            required = ctx.metadata.get(REQUIRE_LEADER_KEY) == REQUIRE_LEADER_VALUE
            if required and not server.leader_id:
                raise errors.NO_LEADER
            answer = handler(request, ctx)
            if required and inspect.isasyncgen(answer):
                return _while_led(server, answer)
            return answer

        return guarded


async def _while_led(server: EtcdServer, responses: AsyncGenerator) -> AsyncIterator[Any]:
    """A stream that asked for a leader ends with "no leader" once this member finds
    itself without one, looking every election timeout, as etcd's monitorLeader ends
    such streams. The handler's generator runs in a task of its own: it is advanced
    there alone (its context, the caller it runs as, stays with it)."""
    answers: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue(maxsize=1)

    async def pump() -> None:
        try:
            async for answer in responses:
                await answers.put((answer, None))
            await answers.put((_END, None))
        except Exception as exc:
            await answers.put((None, exc))

    pumping = asyncio.create_task(pump())
    period = server.cfg.raft.election_timeout_ms / 1000
    try:
        while True:
            nxt = asyncio.ensure_future(answers.get())
            while not (await asyncio.wait({nxt}, timeout=period))[0]:
                if not server.leader_id:
                    nxt.cancel()
                    raise errors.NO_LEADER
            answer, error = nxt.result()
            if error is not None:
                raise error
            if answer is _END:
                return
            yield answer
    finally:
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pumping


_END = object()


def _learner_serves(call: tuple[str, str], request: Any) -> bool:
    """etcd's isRPCSupportedForLearner, and the one stream a learner serves."""
    if call == ("etcdserverpb.KV", "range"):
        return request.serializable
    return call in _LEARNER_CALLS
