"""Applying etcd's KV requests to the MVCC store, with etcd's exact semantics.

Requests reach here checked by ``kv_validate`` and committed by raft. Each method maps
one ``etcdserverpb`` request onto :mod:`kvcore.mvcc` operations and builds the response.
Response headers carry only ``revision``, the store revision the request left (or read)
at apply time; the caller fills ``cluster_id``, ``member_id`` and ``raft_term``.

A write request that fails raises before it writes anything (the checks run first,
as in etcd), so the backend transaction it shares with other requests stays usable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import Any

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.mvccpb.kv_pb2 import KeyValue
from kvcore.backend import ReadTxn, WriteTxn
from kvcore.mvcc.store import KVStore, TxnWrite

_SORT_KEYS: dict[int, Callable[[KeyValue], Any]] = {
    pb.RangeRequest.KEY: attrgetter("key"),
    pb.RangeRequest.VERSION: attrgetter("version"),
    pb.RangeRequest.CREATE: attrgetter("create_revision"),
    pb.RangeRequest.MOD: attrgetter("mod_revision"),
    pb.RangeRequest.VALUE: attrgetter("value"),
}

_COMPARE_FIELDS = {
    pb.Compare.VALUE: "value",
    pb.Compare.VERSION: "version",
    pb.Compare.CREATE: "create_revision",
    pb.Compare.MOD: "mod_revision",
    pb.Compare.LEASE: "lease",
}


def range_end(end: bytes) -> bytes | None:
    """A request's range_end in the store's convention.

    Empty: the single key (None). ``b"\\0"``: every key from the key on (``b""``).
    """
    if not end:
        return None
    return b"" if end == b"\x00" else end


class KVApplier:
    """Range, Put, DeleteRange, Txn and Compact over a :class:`KVStore`.

    ``lease_exists`` answers whether a lease id is granted; without it every lease is
    accepted.
    """

    def __init__(self, store: KVStore, lease_exists: Callable[[int], bool] | None = None) -> None:
        self._store = store
        self._lease_exists = lease_exists

    # --- range --------------------------------------------------------------------

    def range(self, req: pb.RangeRequest, w: TxnWrite | None = None) -> pb.RangeResponse:
        """Read from the store, or through ``w`` to see a transaction's own writes."""
        limit = req.limit
        filtered = (
            req.min_mod_revision
            or req.max_mod_revision
            or req.min_create_revision
            or req.max_create_revision
        )
        if filtered or req.sort_order != pb.RangeRequest.NONE:
            limit = 0  # fetch everything, then filter, sort and cut
        if limit > 0:
            limit += 1  # one more than asked tells whether there are more
        read = self._store.range if w is None else w.range
        result = read(req.key, range_end(req.range_end), req.revision, limit, req.count_only)

        kvs = [kv for kv in result.kvs if _passes_filters(req, kv)] if filtered else result.kvs
        order = req.sort_order
        if req.sort_target != pb.RangeRequest.KEY and order == pb.RangeRequest.NONE:
            order = pb.RangeRequest.ASCEND  # kvs come in key order; other targets sort
        if order in (pb.RangeRequest.ASCEND, pb.RangeRequest.DESCEND):
            kvs.sort(key=_SORT_KEYS[req.sort_target], reverse=order == pb.RangeRequest.DESCEND)

        resp = pb.RangeResponse(count=result.count)
        resp.header.revision = result.rev
        if 0 < req.limit < len(kvs):
            kvs = kvs[: req.limit]
            resp.more = True
        if req.keys_only:
            for kv in kvs:
                kv.ClearField("value")
        resp.kvs.extend(kvs)
        return resp

    # --- put and delete -------------------------------------------------------------

    def put(self, w: TxnWrite, req: pb.PutRequest) -> pb.PutResponse:
        """Write ``req`` in ``w``. Raises LEASE_NOT_FOUND or KEY_NOT_FOUND, unwritten."""
        self._check_lease(req.lease)
        return self._put(w, req)

    def _put(self, w: TxnWrite, req: pb.PutRequest) -> pb.PutResponse:
        prev = None
        if req.ignore_value or req.ignore_lease or req.prev_kv:
            found = w.range(req.key).kvs
            prev = found[0] if found else None
        if (req.ignore_value or req.ignore_lease) and prev is None:
            raise errors.KEY_NOT_FOUND
        value = prev.value if req.ignore_value and prev is not None else req.value
        lease = prev.lease if req.ignore_lease and prev is not None else req.lease
        resp = pb.PutResponse()
        if req.prev_kv and prev is not None:
            resp.prev_kv.CopyFrom(prev)
        resp.header.revision = w.put(req.key, value, lease)
        return resp

    def delete_range(self, w: TxnWrite, req: pb.DeleteRangeRequest) -> pb.DeleteRangeResponse:
        end = range_end(req.range_end)
        resp = pb.DeleteRangeResponse()
        if req.prev_kv:
            resp.prev_kvs.extend(w.range(req.key, end).kvs)
        resp.deleted, resp.header.revision = w.delete_range(req.key, end)
        return resp

    # --- txn ----------------------------------------------------------------------

    def txn(self, btx: WriteTxn | ReadTxn, req: pb.TxnRequest) -> pb.TxnResponse:
        """Evaluate every compare, then apply the chosen branch at one revision.

        All compares, nested ones included, see the state before the txn writes. All
        checks run before the first write, so a txn either fails unwritten or applies
        whole. A txn that changes nothing leaves the revision where it was.
        """
        w = self._store.write(btx)
        path = self._compare_path(w, req)
        try:
            if not is_read_only(req):
                self._check_ops(w, req, path, self._check_put)
            self._check_ops(w, req, path, self._check_range)
            resp = pb.TxnResponse()
            self._apply_txn(w, req, iter(path), resp)
        finally:
            w.end()
        resp.header.revision = w.revision
        return resp

    def _compare_path(self, w: TxnWrite, req: pb.TxnRequest) -> list[bool]:
        """Which branch each txn takes, this one first, then nested ones depth-first."""
        succeeded = all(self._compare(w, c) for c in req.compare)
        path = [succeeded]
        for op in req.success if succeeded else req.failure:
            if op.WhichOneof("request") == "request_txn":
                path.extend(self._compare_path(w, op.request_txn))
        return path

    def _compare(self, w: TxnWrite, c: pb.Compare) -> bool:
        kvs = w.range(c.key, range_end(c.range_end)).kvs
        if not kvs:
            if c.target == pb.Compare.VALUE:
                return False  # a missing value equals nothing, not even b""
            return _compare_kv(c, KeyValue())
        return all(_compare_kv(c, kv) for kv in kvs)

    def _check_ops(
        self,
        w: TxnWrite,
        req: pb.TxnRequest,
        path: list[bool],
        check: Callable[[TxnWrite, pb.RequestOp], None],
    ) -> int:
        """Run ``check`` on every op of the branches taken; returns nested txns seen."""
        nested = 0
        for op in req.success if path[0] else req.failure:
            if op.WhichOneof("request") == "request_txn":
                seen = self._check_ops(w, op.request_txn, path[1 + nested :], check)
                nested += seen + 1
            else:
                check(w, op)
        return nested

    def _check_put(self, w: TxnWrite, op: pb.RequestOp) -> None:
        if op.WhichOneof("request") != "request_put":
            return
        req = op.request_put
        if (req.ignore_value or req.ignore_lease) and not w.range(req.key).kvs:
            raise errors.KEY_NOT_FOUND
        self._check_lease(req.lease)

    def _check_range(self, w: TxnWrite, op: pb.RequestOp) -> None:
        if op.WhichOneof("request") != "request_range" or op.request_range.revision == 0:
            return
        if op.request_range.revision > w.revision:
            raise errors.FUTURE_REV
        if op.request_range.revision < self._store.compact_revision:
            raise errors.COMPACTED

    def _apply_txn(
        self, w: TxnWrite, req: pb.TxnRequest, path: Iterator[bool], resp: pb.TxnResponse
    ) -> None:
        """Apply the branch ``path`` picks; ``path`` is an iterator shared by nested txns."""
        resp.succeeded = next(path)
        for op in req.success if resp.succeeded else req.failure:
            out = resp.responses.add()
            kind = op.WhichOneof("request")
            if kind == "request_range":
                out.response_range.CopyFrom(self.range(op.request_range, w))
            elif kind == "request_put":
                out.response_put.CopyFrom(self._put(w, op.request_put))
            elif kind == "request_delete_range":
                out.response_delete_range.CopyFrom(self.delete_range(w, op.request_delete_range))
            elif kind == "request_txn":
                self._apply_txn(w, op.request_txn, path, out.response_txn)
                out.response_txn.header.SetInParent()  # etcd sends it empty

    # --- compaction -----------------------------------------------------------------

    def compact(self, btx: WriteTxn, req: pb.CompactionRequest) -> pb.CompactionResponse:
        """Compact the history below ``req.revision`` now (``physical`` changes nothing)."""
        self._store.compact(btx, req.revision)
        resp = pb.CompactionResponse()
        resp.header.revision = self._store.current_revision
        return resp

    def _check_lease(self, lease: int) -> None:
        if lease and self._lease_exists is not None and not self._lease_exists(lease):
            raise errors.LEASE_NOT_FOUND


def _passes_filters(req: pb.RangeRequest, kv: KeyValue) -> bool:
    return not (
        (req.max_mod_revision and kv.mod_revision > req.max_mod_revision)
        or (req.min_mod_revision and kv.mod_revision < req.min_mod_revision)
        or (req.max_create_revision and kv.create_revision > req.max_create_revision)
        or (req.min_create_revision and kv.create_revision < req.min_create_revision)
    )


def _compare_kv(c: pb.Compare, kv: KeyValue) -> bool:
    name = _COMPARE_FIELDS.get(c.target)
    order = 0  # etcd: an unknown target compares as equal
    if name is not None:
        mine = getattr(kv, name)
        # A target_union holding another field than the target's reads as 0 (or b"").
        theirs = getattr(c, name) if c.WhichOneof("target_union") == name else type(mine)()
        order = (mine > theirs) - (mine < theirs)
    if c.result == pb.Compare.EQUAL:
        return order == 0
    if c.result == pb.Compare.NOT_EQUAL:
        return order != 0
    if c.result == pb.Compare.GREATER:
        return order > 0
    if c.result == pb.Compare.LESS:
        return order < 0
    return True


def is_read_only(req: pb.TxnRequest) -> bool:
    """Whether both branches hold only ranges (a nested txn counts as a write).

    Such a txn is served on the read path, outside raft, as etcd does; ``txn`` then
    runs over a read transaction.
    """
    ops = [*req.success, *req.failure]
    return all(op.WhichOneof("request") == "request_range" for op in ops)


def is_serializable(req: pb.TxnRequest) -> bool:
    """Whether a read-only txn's ranges all ask for serializable reads."""
    return all(op.request_range.serializable for op in [*req.success, *req.failure])
