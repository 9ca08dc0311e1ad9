"""The server core: turns client requests into raft proposals and reads, and applies
what raft commits. It is the driver's state machine, the peer network's handler, and
the services' one dependency.

Write path: a request is checked, wrapped in an ``InternalRaftRequest`` with a unique
id, proposed, and answered when the applier resolves that id. Linearizable reads wait
for a ReadIndex round (shared by every read that arrives in the same loop turn) and for
the applied index to reach it; serializable reads go straight to the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from kvcore import CLUSTER_VERSION, backend_stream, errors, metrics, schema
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import (
    ClusterVersionSetRequest,
    InternalRaftRequest,
    RequestHeader,
)
from kvcore.auth import caller
from kvcore.auth.applier import AUTH_REQUESTS, AuthApplier
from kvcore.auth.providers import token_provider
from kvcore.auth.store import AuthStore
from kvcore.backend import Backend, DetachedReads, WriteTxn
from kvcore.config import NodeConfig
from kvcore.lease.expiry import run_expiry
from kvcore.lease.lessor import Lessor, min_ttl
from kvcore.mvcc.store import KVStore
from kvcore.raft.codec import decode_conf_change
from kvcore.raft.driver import Driver, SnapshotPlan
from kvcore.raft.errors import ProposalDroppedError
from kvcore.raft.messages import Message
from kvcore.raft.readonly import ReadState
from kvcore.raft.status import Role, SoftState
from kvcore.raft.types import ConfChange, Entry, EntryType, Snapshot
from kvcore.server import applied, conf_apply, leases, promotion, quota
from kvcore.server.alarms import AlarmStore
from kvcore.server.ids import RequestIds
from kvcore.server.kv_apply import KVApplier
from kvcore.server.membership import Membership
from kvcore.server.raftlog import Identity
from kvcore.server.wait import IndexWait, Wait
from kvcore.transport import PeerNetwork
from kvcore.watch import WatchableStore

log = logging.getLogger(__name__)

_U64 = struct.Struct(">Q")
# How long a read index request may go unanswered before it is sent again.
_READ_INDEX_RETRY_SECONDS = 0.5
# How often a proposal raft refused is offered again.
_RESUBMIT_SECONDS = 0.02


class EtcdServer:
    def __init__(
        self,
        cfg: NodeConfig,
        identity: Identity,
        backend: Backend,
        membership: Membership,
        snapshot: Snapshot,
    ) -> None:
        self.cfg = cfg
        self.limits = cfg.limits
        self.identity = identity
        self.backend = backend
        self.membership = membership
        self.driver: Driver | None = None  # set by attach(), before serving
        self.peers: PeerNetwork | None = None
        self.leader_id = 0
        self.removed = asyncio.Event()  # set when this member is removed from the cluster
        self.lessor = Lessor(min_ttl(cfg.raft.election_timeout_ms, cfg.raft.heartbeat_interval_ms))
        self.lease_calls = leases.LeaderCalls(self)
        self.quota = quota.BackendQuota(backend.size, quota.limit(cfg.limits.quota_backend_bytes))
        self.watchable = WatchableStore()  # its run() is one of the node's tasks
        self._open_store()
        self.auth = AuthStore(backend, token_provider(cfg.auth))
        self._auth_applier = AuthApplier(self.auth, self.lessor)
        with backend.read() as txn:
            self.applied_index, self.applied_term = applied.read(txn)
        self.conf_state = snapshot.metadata.conf_state
        self._snapshot_index = snapshot.metadata.index
        self._ids = RequestIds(identity.member_id)
        self._wait = Wait(cfg.request_timeout)
        self._index_wait = IndexWait()
        self._index_wait.advance(self.applied_index)
        self._next_read: asyncio.Future[int] | None = None
        self._reads: dict[bytes, asyncio.Future[int]] = {}
        self._compaction_wanted = asyncio.Event()
        self._compacted = asyncio.Event()
        self._compaction_changed()
        self._version_due = asyncio.Event()  # a new leader found no cluster version

    def _open_store(self) -> None:
        # Leases first: the store attaches its keys to them as it opens.
        with self.backend.read() as txn:
            self.lessor.load(txn)
            self.alarms = AlarmStore.load(txn)
        self.store = KVStore(self.backend, leases=self.lessor, observer=self.watchable.record)
        self.watchable.use(self.store)
        self.kv = KVApplier(self.store, lease_exists=self.lessor.exists)

    def attach(self, driver: Driver, peers: PeerNetwork | None) -> None:
        self.driver = driver
        self.peers = peers
        self._members_changed()

    # --- views ------------------------------------------------------------------------

    @property
    def term(self) -> int:
        return self.driver.node.term if self.driver else 0

    @property
    def committed_index(self) -> int:
        return self.driver.node.status().hard_state.commit if self.driver else 0

    @property
    def pending_proposals(self) -> int:
        return len(self._wait)

    @property
    def is_leader(self) -> bool:
        return self.driver is not None and self.driver.node.role == Role.LEADER

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
        header = response.header
        header.cluster_id = self.identity.cluster_id
        header.member_id = self.identity.member_id
        header.raft_term = self.term
        if not header.revision:
            header.revision = self.store.current_revision
        return response

    # --- the write path -------------------------------------------------------------

    def new_id(self) -> int:
        """A new id, unique across members and restarts (a request id; lease ids too)."""
        return self._ids.next()

    async def propose(self, request: InternalRaftRequest) -> Any:
        """Replicate ``request`` and return what applying it produced.

        Every request is charged against the backend quota here (``kvcore.server.quota``:
        puts, txns that put and lease grants cost, the rest is free), so any service
        that proposes one of them gets etcd's quota check without a call of its own.
        """
        if not self.quota.fits(request):
            await self._raise_no_space()
        request_id = self._ids.next()
        request.header.ID = request_id
        caller.stamp(request.header)
        data = request.SerializeToString()
        if len(data) > self.limits.max_request_bytes:
            raise errors.REQUEST_TOO_LARGE
        return await self._replicate(request_id, lambda: self.driver.propose(data))

    async def _raise_no_space(self) -> None:
        """Raise the NOSPACE alarm through raft (once), then fail the write with it, as
        etcd's quota check does for every put, txn and lease grant that would not fit."""
        if not self.alarms.is_active(pb.AlarmType.NOSPACE):
            alarm = pb.AlarmRequest(
                action=pb.AlarmRequest.ACTIVATE,
                memberID=self.identity.member_id,
                alarm=pb.AlarmType.NOSPACE,
            )
            with contextlib.suppress(errors.EtcdError):
                await self.propose(InternalRaftRequest(alarm=alarm))
        raise errors.NO_SPACE

    async def propose_conf_change(self, cc_type: Any, node_id: int, **context: Any) -> Any:
        """Replicate a membership change and return once it is applied."""
        request_id = self._ids.next()
        ctx = conf_apply.ChangeContext(request_id=request_id, **context)
        cc = ConfChange(cc_type, node_id, ctx.encode())
        return await self._replicate(request_id, lambda: self.driver.propose_conf_change(cc))

    async def _replicate(self, request_id: int, submit: Any) -> Any:
        """Hand a proposal to raft and wait for its result, within the request timeout.

        While raft refuses it - no leader yet (an election is under way) or, for a
        conf change, another one still pending - it is offered again.
        """
        future = self._wait.register(request_id)
        submitted = False
        try:
            while not future.done():
                try:
                    submit()
                    submitted = True
                    break
                except ProposalDroppedError:
                    await asyncio.sleep(_RESUBMIT_SECONDS)
            return await future
        except TimeoutError:
            metrics.PROPOSALS_FAILED.inc()
            # etcd's proposal waits for a leader on the request's context and fails
            # with that context's own error; one raft took times out as etcd's does.
            raise (errors.TIMEOUT if submitted else errors.NO_LEADER_DEADLINE) from None
        finally:
            # A caller that left while the proposal waited for a leader leaves no
            # future for the timeout to fail unseen.
            future.cancel()

    # --- the read path --------------------------------------------------------------

    async def linearizable_read(self) -> None:
        """Return once every write committed before the call is applied here."""
        loop = asyncio.get_running_loop()
        if self._next_read is None:
            self._next_read = loop.create_future()
            loop.call_soon(self._start_read_round)
        try:
            async with asyncio.timeout(self.cfg.request_timeout):
                index = await asyncio.shield(self._next_read)
                await self._index_wait.wait(index)
        except TimeoutError:
            raise errors.TIMEOUT from None

    async def wait_applied(self, index: int) -> None:
        """Return once entries up to ``index`` are applied."""
        await self._index_wait.wait(index)

    def _start_read_round(self) -> None:
        future, self._next_read = self._next_read, None
        loop = asyncio.get_running_loop()
        self._send_read_index(future, loop.time() + self.cfg.request_timeout)

    def _send_read_index(self, future: asyncio.Future[int], deadline: float) -> None:
        """Ask raft for a read index answering ``future``, and again every retry interval
        until one comes: raft drops the request without a leader, and the leader may
        lose it (etcd's read loop retries the same way). Past ``deadline`` every reader
        has timed out: the round is dropped."""
        loop = asyncio.get_running_loop()
        if future.done():
            return
        if loop.time() >= deadline:
            future.cancel()
            return
        # Unique across members and restarts: the leader tracks pending reads by it.
        ctx = _U64.pack(self._ids.next())
        self._reads[ctx] = future
        future.add_done_callback(lambda _: self._reads.pop(ctx, None))
        self.driver.read_index(ctx)
        loop.call_later(_READ_INDEX_RETRY_SECONDS, self._send_read_index, future, deadline)

    # --- the driver's state machine ----------------------------------------------------

    def restore(self, snapshot: Snapshot) -> None:
        """Replace the whole state with a snapshot's (one the leader sent)."""
        backend_stream.load(self.backend, schema.ALL_BUCKETS, [snapshot.data])
        self._open_store()
        self.auth.reload()
        with self.backend.read() as txn:
            membership = Membership.load(txn, self.identity.member_id)
        if membership is not None:
            self.membership = membership
        meta = snapshot.metadata
        self.applied_index, self.applied_term = meta.index, meta.term
        self.conf_state = meta.conf_state
        self._snapshot_index = meta.index
        self._index_wait.advance(self.applied_index)
        self._members_changed()
        self._compaction_changed()
        log.info("restored from the leader's snapshot at index %d", meta.index)

    def apply(self, entries: Sequence[Entry]) -> None:
        results: list[tuple[int, Any]] = []
        members_changed = False
        last = entries[-1]
        with self.backend.write() as btx:
            for entry in entries:
                if entry.type == EntryType.CONF_CHANGE:
                    members_changed = True
                    result = self._apply_conf_change(btx, entry)
                    if result is not None:
                        results.append(result)
                elif entry.index > self.applied_index and entry.data:
                    request = InternalRaftRequest.FromString(entry.data)
                    name, body = _body(request)
                    members_changed |= name.startswith("member_")
                    result = self._apply_authorized(btx, entry.index, request.header, name, body)
                    results.append((request.header.ID, result))
                elif entry.index > self.applied_index and self.is_leader:
                    # A new leader's empty entry: every earlier term's entry is applied,
                    # so the lessor starts every lease's clock afresh (etcd's Promote).
                    self.lessor.promote(self.cfg.raft.election_timeout_ms / 1000, time.monotonic())
                    if self.membership.cluster_version != CLUSTER_VERSION:
                        self._version_due.set()
            if last.index > self.applied_index:
                self.applied_index, self.applied_term = last.index, last.term
                applied.write(btx, last.index, last.term)
            started = time.perf_counter()
            btx.commit()
            metrics.BACKEND_COMMIT.observe(time.perf_counter() - started)
        self.watchable.committed()
        for request_id, result in results:
            self._wait.trigger(request_id, result)
        self._index_wait.advance(self.applied_index)
        self._compaction_changed()
        if members_changed:
            self._members_changed()

    def _apply_conf_change(self, btx: WriteTxn, entry: Entry) -> tuple[int, Any] | None:
        cc = decode_conf_change(entry.data)
        ctx = conf_apply.ChangeContext.decode(cc.context)
        if entry.index <= self.applied_index:
            # Applied before a restart: the member table already has it; raft does not.
            self.conf_state = self.driver.node.apply_conf_change(cc)
            return None
        try:
            conf_apply.check_conf_change(self.membership, cc, ctx)
        except errors.EtcdError as exc:
            self.conf_state = self.driver.node.apply_conf_change(ConfChange(cc.type, 0))
            return ctx.request_id, exc
        self.conf_state = self.driver.node.apply_conf_change(cc)
        conf_apply.apply_conf_change(btx, self.membership, cc, ctx)
        return ctx.request_id, None

    def _apply_authorized(
        self, btx: WriteTxn, index: int, header: RequestHeader, name: str, body: Any
    ) -> Any:
        """Apply a request as the caller its header names, if they may make it."""
        try:
            self._auth_applier.authorize(header, name, body)
            if name in AUTH_REQUESTS:
                return self.stamp(self._auth_applier.apply(btx, name, body, index))
        except errors.EtcdError as exc:
            return exc
        return self._apply_request(btx, name, body)

    def _apply_request(self, btx: WriteTxn, name: str, body: Any) -> Any:
        try:
            self.alarms.check_apply(name, body)
            if name == "put":
                response = self._write(btx, self.kv.put, body)
            elif name == "delete_range":
                response = self._write(btx, self.kv.delete_range, body)
            elif name == "txn":
                response = self.kv.txn(btx, body)
            elif name == "compaction":
                response = self.kv.compact(btx, body)
            elif name == "lease_grant":
                response = leases.apply_grant(self.lessor, btx, body)
            elif name == "lease_revoke":
                response = self._write(btx, partial(leases.apply_revoke, self.lessor, btx), body)
            elif name == "alarm":
                return self.alarms.apply(btx, body)  # etcd answers it without a header
            elif name == "member_update":
                return conf_apply.apply_member_update(btx, self.membership, body)
            elif name == "member_attributes":
                return conf_apply.apply_member_attributes(btx, self.membership, body)
            elif name == "cluster_version_set":
                return self.membership.set_cluster_version(btx, body.ver)
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

    # --- compaction's backend purge -------------------------------------------------------

    def _compaction_changed(self) -> None:
        if self.store.compacting:
            self._compacted.clear()
            self._compaction_wanted.set()
        else:
            self._compacted.set()

    async def wait_compacted(self) -> None:
        """Return once no compaction has versions left to remove (etcd's physical)."""
        await self._compacted.wait()

    async def run_compactor(self) -> None:
        """Remove compacted versions from the backend, a batch per write transaction with
        a pause between, so that applies wait for at most one batch."""
        limit = self.cfg.compaction.batch_limit
        pause = self.cfg.compaction.pause_ms / 1000
        while True:
            await self._compaction_wanted.wait()
            self._compaction_wanted.clear()
            while self.store.compacting:
                with self.backend.write() as btx:
                    self.store.purge_step(btx, limit)
                    btx.commit()
                await asyncio.sleep(pause)
            self._compaction_changed()

    async def run_version_recorder(self) -> None:
        """Record the cluster's version through raft when a new leader finds the log
        without it (or with another), as etcd's leader does right after its election."""
        request = InternalRaftRequest(
            cluster_version_set=ClusterVersionSetRequest(ver=CLUSTER_VERSION)
        )
        while True:
            await self._version_due.wait()
            self._version_due.clear()
            if self.is_leader and self.membership.cluster_version != CLUSTER_VERSION:
                try:
                    await self.propose(request)
                except errors.EtcdError as exc:  # lost leadership, say: the next leader will
                    log.info("cluster version not recorded: %s", exc)

    async def run_lease_expiry(self) -> None:
        """Revoke, through raft, the leases that expire while this member leads."""

        async def revoke(lease_id: int) -> Any:
            with caller.as_root(self.auth):  # etcd revokes expired leases as root
                request = InternalRaftRequest(lease_revoke=pb.LeaseRevokeRequest(ID=lease_id))
                return await self.propose(request)

        await run_expiry(self.lessor, revoke)

    def _members_changed(self) -> None:
        if self.peers is not None:
            self.peers.set_peers(self.membership.peers())
        if self.membership.is_removed(self.identity.member_id):
            self.mark_removed("it applied its own removal")

    def mark_removed(self, why: str) -> None:
        """This member is no longer in the cluster: the node stops."""
        if not self.removed.is_set():
            log.warning("this member was removed from the cluster (%s); stopping", why)
            self.removed.set()

    def snapshot_due(self) -> SnapshotPlan | None:
        """A snapshot to take now, every ``snapshot.count`` applied entries."""
        if self.applied_index - self._snapshot_index < self.cfg.snapshot.count:
            return None
        self._snapshot_index = self.applied_index
        compact_to = self.applied_index - self.cfg.snapshot.catchup_entries
        return SnapshotPlan(self.applied_index, self.conf_state, self._state_reader(), compact_to)

    def _state_reader(self) -> Callable[[], bytes]:
        """The backend's state now, as a call that serializes it later on another thread
        (from a detached read), or at once where the engine cannot read off its thread."""
        if not isinstance(self.backend, DetachedReads):
            data = backend_stream.dump_bytes(self.backend, schema.ALL_BUCKETS)
            return lambda: data
        txn = self.backend.read_detached()

        def read() -> bytes:
            try:
                return b"".join(backend_stream.dump_txn(txn, schema.ALL_BUCKETS))
            finally:
                txn.close()

        return read

    def on_read_states(self, states: Sequence[ReadState]) -> None:
        for state in states:
            future = self._reads.pop(state.request_ctx, None)
            if future is not None and not future.done():
                future.set_result(state.index)

    def on_soft_state(self, state: SoftState) -> None:
        if state.lead != self.leader_id:
            if state.lead:
                metrics.LEADER_CHANGES.inc()
            log.info("leader is now %x (this member: %s)", state.lead, state.role.value)
        self.leader_id = state.lead
        if state.role != Role.LEADER and self.lessor.primary:
            self.lessor.demote()  # only the leader expires leases

    # --- the peer network's handler ----------------------------------------------------

    def receive(self, message: Message) -> None:
        self.driver.step(message)

    def report_unreachable(self, peer_id: int) -> None:
        self.driver.node.report_unreachable(peer_id)

    def report_snapshot(self, peer_id: int, ok: bool) -> None:
        self.driver.node.report_snapshot(peer_id, ok)

    def members(self) -> bytes:
        return self.membership.encode()

    async def lease_renew(self, lease_id: int) -> int:
        return await self.lease_calls.renew_here(lease_id)

    async def lease_time_to_live(
        self, request: pb.LeaseTimeToLiveRequest
    ) -> pb.LeaseTimeToLiveResponse:
        return await self.lease_calls.time_to_live_here(request)

    async def member_promote(self, request: pb.MemberPromoteRequest) -> pb.MemberPromoteResponse:
        return await promotion.promote_here(self, request.ID)

    def stop(self) -> None:
        self._wait.fail_all(errors.STOPPED)
        self._index_wait.fail_all(errors.STOPPED)
        for future in self._reads.values():
            if not future.done():
                future.set_exception(errors.STOPPED)


def _body(request: InternalRaftRequest) -> tuple[str, Any]:
    """The one request an InternalRaftRequest carries, by field name."""
    for field, value in request.ListFields():
        if field.name != "header":
            return field.name, value
    raise ValueError("empty request in the log")
