"""The backend quota (etcd's --quota-backend-bytes) and what a request costs against it.

A request is charged as etcd's ``backendQuota.Cost`` does: a put costs its key and
value plus 256 bytes of metadata, a txn the costlier of its two branches' puts, a lease
grant 64 bytes; anything else costs nothing and always fits. A request fits while the
backend's size plus its cost stays below the quota.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import InternalRaftRequest

DEFAULT_BYTES = 2 * 1024 * 1024 * 1024  # etcd's DefaultQuotaBytes, for a quota of 0
_KV_OVERHEAD = 256
_LEASE_OVERHEAD = 64
_SIZE_REFRESH_SECONDS = 0.1


def limit(configured: int) -> int | None:
    """The quota in bytes for a configured value: 0 is etcd's default, negative none."""
    if configured < 0:
        return None
    return configured or DEFAULT_BYTES


def cost(name: str, body: Any) -> int:
    """The charge of the request an InternalRaftRequest carries in field ``name``."""
    charge = _CHARGES.get(name)
    return 0 if charge is None else charge(body)


def request_cost(request: InternalRaftRequest) -> int:
    """:func:`cost` of the request ``request`` carries, found without listing its fields
    (asked of every proposal)."""
    for name, charge in _CHARGES.items():
        if request.HasField(name):
            return charge(getattr(request, name))
    return 0


def _put_cost(put: pb.PutRequest) -> int:
    return _KV_OVERHEAD + len(put.key) + len(put.value)


def _txn_cost(txn: pb.TxnRequest) -> int:
    return max(_branch_cost(txn.success), _branch_cost(txn.failure))


def _branch_cost(ops: Any) -> int:
    return sum(_put_cost(op.request_put) for op in ops if op.WhichOneof("request") == "request_put")


# What each charged field of an InternalRaftRequest costs; any other costs nothing.
_CHARGES: dict[str, Callable[[Any], int]] = {
    "put": _put_cost,
    "txn": _txn_cost,
    "lease_grant": lambda _: _LEASE_OVERHEAD,
}


class BackendQuota:
    """Whether a request fits, against a backend size read at most every
    ``_SIZE_REFRESH_SECONDS``: an engine's size may cost syscalls (a file stat, RocksDB
    properties), too much to pay on every write."""

    def __init__(self, backend_size: Callable[[], int], quota_bytes: int | None) -> None:
        self._backend_size = backend_size
        self.quota_bytes = quota_bytes
        self._size = 0
        self._read_at = -math.inf

    def fits(self, request: InternalRaftRequest) -> bool:
        charge = request_cost(request)
        if charge == 0 or self.quota_bytes is None:
            return True
        now = time.monotonic()
        if now - self._read_at >= _SIZE_REFRESH_SECONDS:
            self._size, self._read_at = self._backend_size(), now
        return self._size + charge < self.quota_bytes
