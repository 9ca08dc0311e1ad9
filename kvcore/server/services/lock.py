"""v3lockpb.Lock: Lock and Unlock (etcd's v3lock server over concurrency's Mutex).

A lock ``name`` is the key prefix ``name/``. A locker puts ``name/<lease in hex>`` on
its lease (a new one, never kept alive, when it asks with lease 0) and holds the lock
once every key created before its own is deleted, waiting each time only for the key
just before it. The lock dies with the lease: a revoke or an expiry deletes the key.
"""

from __future__ import annotations

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.v3lockpb import v3lock_pb2 as lpb
from kvcore.server.etcdserver import EtcdServer
from kvcore.server.services import concurrency
from kvcore.transport import CallContext

# The locker's own key vanished (its lease ended) while it waited. etcd 3.5's Mutex
# says so; 3.4's answered as if the lock were held, by a locker that no longer queued.
SESSION_EXPIRED = errors.EtcdError(errors.Code.UNKNOWN, "mutex: session is expired")


class LockService:
    def __init__(self, server: EtcdServer) -> None:
        self._client = concurrency.Client(server)

    async def lock(self, request: lpb.LockRequest, ctx: CallContext) -> lpb.LockResponse:
        client = self._client
        lease = await client.session_lease(request.lease, ctx)
        prefix = request.name + b"/"
        key = concurrency.session_key(prefix, lease)
        queued = await client.txn(_enqueue(prefix, key, lease), ctx)
        if queued.succeeded:
            my_rev = queued.header.revision
        else:  # this lease is queued already (or holds the lock): keep its place
            my_rev = queued.responses[0].response_range.kvs[0].create_revision
        holder = queued.responses[1].response_range.kvs
        if not holder or holder[0].create_revision == my_rev:
            return lpb.LockResponse(header=queued.header, key=key)
        try:
            await client.wait_deletes(prefix, my_rev - 1, ctx)
            mine = await client.get(pb.RangeRequest(key=key), ctx)
        except BaseException:
            # Given up (the caller went away) or the wait failed: leave the queue.
            await concurrency.withdraw(client.delete(key, ctx))
            raise
        if not mine.kvs:
            raise SESSION_EXPIRED
        return lpb.LockResponse(header=mine.header, key=key)

    async def unlock(self, request: lpb.UnlockRequest, ctx: CallContext) -> lpb.UnlockResponse:
        deleted = await self._client.delete(request.key, ctx)
        return lpb.UnlockResponse(header=deleted.header)


def _enqueue(prefix: bytes, key: bytes, lease: int) -> pb.TxnRequest:
    """Put ``key`` unless it exists (else read it), and read the lock's holder: the
    uncontended lock in one round trip, as etcd's Mutex."""
    holder = pb.RequestOp(request_range=concurrency.by_create(prefix, concurrency.ASCEND))
    return pb.TxnRequest(
        compare=[concurrency.created_at(key, 0)],
        success=[pb.RequestOp(request_put=pb.PutRequest(key=key, lease=lease)), holder],
        failure=[pb.RequestOp(request_range=pb.RangeRequest(key=key)), holder],
    )
