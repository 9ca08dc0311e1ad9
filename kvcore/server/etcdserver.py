"""The server core: turns client requests into raft proposals and reads, and applies
what raft commits. It is the driver's state machine and the services' one dependency.

Write path: a request is checked, wrapped in an ``InternalRaftRequest`` with a unique
id, proposed, and answered when the applier resolves that id. Linearizable reads wait
for a ReadIndex round (shared by every read that arrives in the same loop turn) and for
the applied index to reach it; serializable reads go straight to the store.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import struct
from collections.abc import Sequence
from typing import Any

from kvcore import errors, schema
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import InternalRaftRequest
from kvcore.backend import Backend, WriteTxn
from kvcore.config import LimitsConfig
from kvcore.mvcc.store import KVStore
from kvcore.raft.driver import Driver
from kvcore.raft.errors import ProposalDroppedError
from kvcore.raft.readonly import ReadState
from kvcore.raft.status import SoftState
from kvcore.raft.types import Entry, EntryType, Snapshot
from kvcore.server.ids import RequestIds
from kvcore.server.kv_apply import KVApplier
from kvcore.server.raftlog import Identity
from kvcore.server.wait import IndexWait, Wait

log = logging.getLogger(__name__)

_U64 = struct.Struct(">Q")


class EtcdServer:
    def __init__(self, identity: Identity, backend: Backend, limits: LimitsConfig) -> None:
        self.identity = identity
        self.backend = backend
        self.limits = limits
        self.store = KVStore(backend)
        # Until the Lease service exists no lease is ever granted, so every lease id
        # given to a put is unknown, as etcd answers for a lease it never granted.
        self.kv = KVApplier(self.store, lease_exists=lambda lease_id: False)
        self.driver: Driver | None = None  # set by attach(), before serving
        self.leader_id = 0
        self.applied_index, self.applied_term = _applied(backend)
        self._ids = RequestIds(identity.member_id)
        self._wait = Wait()
        self._index_wait = IndexWait()
        self._index_wait.advance(self.applied_index)
        self._read_ctx = itertools.count(1)
        self._next_read: asyncio.Future[int] | None = None
        self._reads: dict[bytes, asyncio.Future[int]] = {}

    def attach(self, driver: Driver) -> None:
        self.driver = driver

    @property
    def term(self) -> int:
        return self.driver.node.term if self.driver else 0

    @property
    def committed_index(self) -> int:
        return self.driver.node.status().hard_state.commit if self.driver else 0

    def header(self, revision: int | None = None) -> pb.ResponseHeader:
        """A response header at ``revision`` (default: the store's current one).

        ``revision=0`` leaves it out, as etcd does for the Cluster service's answers.
        """
        return pb.ResponseHeader(
            cluster_id=self.identity.cluster_id,
            member_id=self.identity.member_id,
            revision=self.store.current_revision if revision is None else revision,
            raft_term=self.term,
        )

    def stamp(self, response: Any) -> Any:
        """Fill ``response.header``, keeping a revision the applier already set."""
        response.header.MergeFrom(self.header(response.header.revision or None))
        return response

    # --- the write path -------------------------------------------------------------

    async def propose(self, request: InternalRaftRequest) -> Any:
        """Replicate ``request`` and return what applying it produced."""
        request_id = self._ids.next()
        request.header.ID = request_id
        data = request.SerializeToString()
        if len(data) > self.limits.max_request_bytes:
            raise errors.REQUEST_TOO_LARGE
        future = self._wait.register(request_id)
        try:
            self.driver.propose(data)
        except ProposalDroppedError:
            self._wait.cancel(request_id)
            raise errors.NO_LEADER from None
        try:
            async with asyncio.timeout(self.limits.request_timeout):
                return await future
        except TimeoutError:
            self._wait.cancel(request_id)
            raise errors.TIMEOUT from None

    # --- the read path --------------------------------------------------------------

    async def linearizable_read(self) -> None:
        """Return once every write committed before the call is applied here."""
        if self._next_read is None:
            self._next_read = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(self._start_read_round)
        try:
            async with asyncio.timeout(self.limits.request_timeout):
                index = await asyncio.shield(self._next_read)
                await self._index_wait.wait(index)
        except TimeoutError:
            raise errors.TIMEOUT from None

    def _start_read_round(self) -> None:
        future, self._next_read = self._next_read, None
        ctx = _U64.pack(next(self._read_ctx))
        self._reads[ctx] = future
        self.driver.read_index(ctx)

    # --- the driver's state machine ----------------------------------------------------

    def restore(self, snapshot: Snapshot) -> None:
        if snapshot.data:
            raise NotImplementedError("restoring a backend from a raft snapshot")

    def apply(self, entries: Sequence[Entry]) -> None:
        results: list[tuple[int, Any]] = []
        last = entries[-1]
        with self.backend.write() as btx:
            for entry in entries:
                if entry.index <= self.applied_index:
                    continue  # applied before a restart: the backend already has it
                if entry.type == EntryType.NORMAL and entry.data:
                    request = InternalRaftRequest.FromString(entry.data)
                    results.append((request.header.ID, self._apply_request(btx, request)))
            if last.index > self.applied_index:
                self.applied_index, self.applied_term = last.index, last.term
                btx.put(schema.META, schema.META_CONSISTENT_INDEX, _U64.pack(last.index))
                btx.put(schema.META, schema.META_TERM, _U64.pack(last.term))
            btx.commit()
        for request_id, result in results:
            self._wait.trigger(request_id, result)
        self._index_wait.advance(self.applied_index)

    def _apply_request(self, btx: WriteTxn, request: InternalRaftRequest) -> Any:
        name, body = _body(request)
        try:
            if name == "put":
                response = self._write(btx, self.kv.put, body)
            elif name == "delete_range":
                response = self._write(btx, self.kv.delete_range, body)
            elif name == "txn":
                response = self.kv.txn(btx, body)
            elif name == "compaction":
                response = self.kv.compact(btx, body)
            else:
                raise ValueError(f"unsupported request in the log: {name}")
        except errors.EtcdError as exc:
            return exc
        return self.stamp(response)

    def _write(self, btx: WriteTxn, apply: Any, body: Any) -> Any:
        """Apply a single-revision request through its own TxnWrite."""
        w = self.store.write(btx)
        try:
            return apply(w, body)
        finally:
            w.end()

    def on_read_states(self, states: Sequence[ReadState]) -> None:
        for state in states:
            future = self._reads.pop(state.request_ctx, None)
            if future is not None and not future.done():
                future.set_result(state.index)

    def on_soft_state(self, state: SoftState) -> None:
        if state.lead != self.leader_id:
            log.info("leader is now %x (role %s)", state.lead, state.role.value)
        self.leader_id = state.lead

    def stop(self) -> None:
        self._wait.fail_all(errors.STOPPED)
        self._index_wait.fail_all(errors.STOPPED)
        for future in self._reads.values():
            if not future.done():
                future.set_exception(errors.STOPPED)


def _applied(backend: Backend) -> tuple[int, int]:
    with backend.read() as txn:
        index = txn.get(schema.META, schema.META_CONSISTENT_INDEX)
        term = txn.get(schema.META, schema.META_TERM)
    return (_U64.unpack(index)[0] if index else 0, _U64.unpack(term)[0] if term else 0)


def _body(request: InternalRaftRequest) -> tuple[str, Any]:
    """The one request an InternalRaftRequest carries, by field name."""
    for field, value in request.ListFields():
        if field.name != "header":
            return field.name, value
    raise ValueError("empty request in the log")
