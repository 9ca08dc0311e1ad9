"""A KV "server" in this process: kv_validate, then KVApplier over a memory backend.

It answers like :class:`support.rawclient.RawClient` (a response, or an RpcFailure
with etcd's code and message), so its answers compare directly with real etcd's.
Every write request is one backend transaction, committed before the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from google.protobuf.message import Message
from kvcore_memory import MemoryEngine, MemoryOptions
from support.rawclient import Outcome, RpcFailure

from kvcore import schema
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.errors import EtcdError
from kvcore.mvcc import KVStore, TxnWrite
from kvcore.server import kv_validate
from kvcore.server.kv_apply import KVApplier


class InProcessKV:
    def __init__(self, lease_exists: Callable[[int], bool] = lambda lease: False) -> None:
        self.backend = MemoryEngine().open(Path("."), schema.ALL_BUCKETS, MemoryOptions())
        self.store = KVStore(self.backend)
        self.applier = KVApplier(self.store, lease_exists)

    def call(self, method: str, request: Message) -> Outcome:
        try:
            return getattr(self, method)(request)
        except EtcdError as exc:
            return RpcFailure(exc.code.name, exc.message)

    def Range(self, req: pb.RangeRequest) -> pb.RangeResponse:
        kv_validate.check_range(req)
        return self.applier.range(req)

    def Put(self, req: pb.PutRequest) -> pb.PutResponse:
        kv_validate.check_put(req)
        return self._in_one_revision(lambda w: self.applier.put(w, req))

    def DeleteRange(self, req: pb.DeleteRangeRequest) -> pb.DeleteRangeResponse:
        kv_validate.check_delete_range(req)
        return self._in_one_revision(lambda w: self.applier.delete_range(w, req))

    def Txn(self, req: pb.TxnRequest) -> pb.TxnResponse:
        kv_validate.check_txn(req)
        with self.backend.write() as btx:
            resp = self.applier.txn(btx, req)
            btx.commit()
        return resp

    def Compact(self, req: pb.CompactionRequest) -> pb.CompactionResponse:
        with self.backend.write() as btx:
            resp = self.applier.compact(btx, req)
            btx.commit()
        return resp

    def _in_one_revision(self, apply: Callable[[TxnWrite], Message]) -> Message:
        with self.backend.write() as btx:
            w = self.store.write(btx)
            try:
                resp = apply(w)
            finally:
                w.end()
            btx.commit()
        return resp
