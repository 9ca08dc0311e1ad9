"""Checks on KV requests that need no state, done before a request is proposed.

Each function raises an :class:`~kvcore.errors.EtcdError` with etcd's message, or
returns None when the request may go to raft (etcd's v3rpc ``key.go``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb

DEFAULT_MAX_TXN_OPS: Final = 128
# A set, built once: the enum's values() builds a new list on every call.
_SORT_TARGETS: Final = frozenset(pb.RangeRequest.SortTarget.values())


def check_range(req: pb.RangeRequest) -> None:
    if not req.key:
        raise errors.EMPTY_KEY
    # An unknown sort order leaves the keys unsorted, as in etcd 3.4 and 3.5. An unknown
    # target would crash those; the error is etcd 3.6's.
    if req.sort_target not in _SORT_TARGETS:
        raise errors.INVALID_SORT_OPTION


def check_put(req: pb.PutRequest) -> None:
    if not req.key:
        raise errors.EMPTY_KEY
    if req.ignore_value and req.value:
        raise errors.VALUE_PROVIDED
    if req.ignore_lease and req.lease:
        raise errors.LEASE_PROVIDED


def check_delete_range(req: pb.DeleteRangeRequest) -> None:
    if not req.key:
        raise errors.EMPTY_KEY


def check_txn(req: pb.TxnRequest, max_txn_ops: int = DEFAULT_MAX_TXN_OPS) -> None:
    """Sizes, keys and every op, then puts and deletes that touch one key twice."""
    _check_txn_ops(req, max_txn_ops)
    # Overlaps are checked after the sizes, so a huge txn cannot make this quadratic.
    _check_intervals(req.success)
    _check_intervals(req.failure)


def _check_txn_ops(req: pb.TxnRequest, max_txn_ops: int) -> None:
    ops = max(len(req.compare), len(req.success), len(req.failure))
    if ops > max_txn_ops:
        raise errors.TOO_MANY_OPS
    for c in req.compare:
        if not c.key:
            raise errors.EMPTY_KEY
    # A nested txn may use only what its parent left of the limit.
    for op in (*req.success, *req.failure):
        _check_op(op, max_txn_ops - ops)


def _check_op(op: pb.RequestOp, max_txn_ops: int) -> None:
    kind = op.WhichOneof("request")
    if kind == "request_range":
        check_range(op.request_range)
    elif kind == "request_put":
        check_put(op.request_put)
    elif kind == "request_delete_range":
        check_delete_range(op.request_delete_range)
    elif kind == "request_txn":
        _check_txn_ops(op.request_txn, max_txn_ops)
    else:
        raise errors.KEY_NOT_FOUND  # an empty op


# --- duplicate keys -----------------------------------------------------------------
#
# etcd compares keys as "affine" strings, where the empty string is above every other
# one (an open end), and a put of key k is the interval [k, k + "\0"). Its overlap
# test is reproduced exactly, including its reading of a malformed interval such as
# [k, "\0") (a delete from k on): it overlaps nothing, so such deletes never clash.


def _affine_cmp(a: bytes, b: bytes) -> int:
    if not a or not b:
        return (not a) - (not b)
    return (a > b) - (a < b)


@dataclass(frozen=True, slots=True)
class _Interval:
    begin: bytes
    end: bytes

    @classmethod
    def point(cls, key: bytes) -> _Interval:
        return cls(key, key + b"\x00")

    def overlaps(self, other: _Interval) -> bool:
        """etcd's ``Interval.Compare(other) == 0``."""
        if _affine_cmp(self.begin, other.begin) < 0 and _affine_cmp(self.end, other.begin) <= 0:
            return False  # wholly left of other
        return _affine_cmp(self.begin, other.end) < 0  # else it is right of other


def _hits(deletes: list[_Interval], key: bytes) -> bool:
    point = _Interval.point(key)
    return any(point.overlaps(d) for d in deletes)


def _check_intervals(ops: list[pb.RequestOp]) -> tuple[set[bytes], list[_Interval]]:
    """Raise DUPLICATE_KEY if a key is put twice, or put and deleted, in ``ops``.

    Returns the keys put and the ranges deleted, for the parent txn's own check. Two
    deletes may overlap; the two branches of one nested txn may put the same key.
    """
    deletes = [
        _Interval(d.key, d.range_end) if d.range_end else _Interval.point(d.key)
        for d in (op.request_delete_range for op in ops if op.HasField("request_delete_range"))
    ]
    puts: set[bytes] = set()
    for op in ops:
        if not op.HasField("request_txn"):
            continue
        puts_then, deletes_then = _check_intervals(op.request_txn.success)
        puts_else, deletes_else = _check_intervals(op.request_txn.failure)
        for key in puts_then:
            if key in puts or _hits(deletes, key):
                raise errors.DUPLICATE_KEY
            puts.add(key)
        for key in puts_else:
            if (key in puts and key not in puts_then) or _hits(deletes, key):
                raise errors.DUPLICATE_KEY
            puts.add(key)
        deletes += deletes_then + deletes_else
    for op in ops:
        if not op.HasField("request_put"):
            continue
        key = op.request_put.key
        if key in puts or _hits(deletes, key):
            raise errors.DUPLICATE_KEY
        puts.add(key)
    return puts, deletes
