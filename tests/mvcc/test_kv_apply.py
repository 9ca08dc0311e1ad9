"""KVApplier and kv_validate cases that etcd's golden answers do not cover: leases,
sort values outside the enums, one backend transaction for many requests."""

from __future__ import annotations

import pytest

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.server import kv_validate

from .inprocess import InProcessKV

GRANTED = {7, 8}


@pytest.fixture
def kv() -> InProcessKV:
    return InProcessKV(lease_exists=GRANTED.__contains__)


def fails(kv: InProcessKV, method: str, request: object) -> str:
    outcome = kv.call(method, request)
    assert not isinstance(outcome, pb.PutResponse | pb.TxnResponse | pb.RangeResponse)
    return outcome.details


def test_put_with_a_granted_lease_and_ignore_lease(kv: InProcessKV) -> None:
    kv.call("Put", pb.PutRequest(key=b"k", value=b"1", lease=7))
    kv.call("Put", pb.PutRequest(key=b"k", value=b"2", ignore_lease=True))
    got = kv.call("Range", pb.RangeRequest(key=b"k")).kvs[0]
    assert (got.value, got.lease) == (b"2", 7)
    kv.call("Put", pb.PutRequest(key=b"k", ignore_value=True, lease=8))
    got = kv.call("Range", pb.RangeRequest(key=b"k")).kvs[0]
    assert (got.value, got.lease) == (b"2", 8)


def test_unknown_lease_fails_before_writing(kv: InProcessKV) -> None:
    assert fails(kv, "Put", pb.PutRequest(key=b"k", lease=9)) == errors.LEASE_NOT_FOUND.message
    txn = pb.TxnRequest(
        success=[
            pb.RequestOp(request_put=pb.PutRequest(key=b"a", value=b"1")),
            pb.RequestOp(request_put=pb.PutRequest(key=b"b", value=b"1", lease=9)),
        ]
    )
    assert fails(kv, "Txn", txn) == errors.LEASE_NOT_FOUND.message
    assert kv.store.current_revision == 1
    lease_compare = pb.Compare(key=b"a", target=pb.Compare.LEASE, result=pb.Compare.EQUAL, lease=7)
    kv.call("Put", pb.PutRequest(key=b"a", lease=7))
    assert kv.call("Txn", pb.TxnRequest(compare=[lease_compare])).succeeded


@pytest.mark.parametrize(
    "request_",
    [
        pb.RangeRequest(key=b"a", sort_target=5),
        pb.RangeRequest(key=b"a", sort_target=-1, sort_order=3),
    ],
)
def test_sort_targets_outside_the_enum(request_: pb.RangeRequest) -> None:
    with pytest.raises(errors.EtcdError) as raised:
        kv_validate.check_range(request_)
    assert raised.value == errors.INVALID_SORT_OPTION
    txn = pb.TxnRequest(success=[pb.RequestOp(request_range=request_)])
    with pytest.raises(errors.EtcdError):
        kv_validate.check_txn(txn)


def test_max_txn_ops_is_configurable() -> None:
    ops = [pb.RequestOp(request_range=pb.RangeRequest(key=b"a"))] * 3
    kv_validate.check_txn(pb.TxnRequest(success=ops), max_txn_ops=3)
    with pytest.raises(errors.EtcdError) as raised:
        kv_validate.check_txn(pb.TxnRequest(success=ops), max_txn_ops=2)
    assert raised.value == errors.TOO_MANY_OPS


def test_many_requests_in_one_backend_transaction(kv: InProcessKV) -> None:
    with kv.backend.write() as btx:
        for i in range(3):
            w = kv.store.write(btx)
            resp = kv.applier.put(w, pb.PutRequest(key=b"k", value=b"%d" % i))
            w.end()
            assert resp.header.revision == 2 + i
        txn = kv.applier.txn(
            btx,
            pb.TxnRequest(
                success=[
                    pb.RequestOp(request_range=pb.RangeRequest(key=b"k")),
                    pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=b"k")),
                ]
            ),
        )
        assert txn.responses[0].response_range.kvs[0].version == 3
        assert txn.header.revision == 5
        btx.commit()
    assert kv.store.current_revision == 5
    assert kv.call("Range", pb.RangeRequest(key=b"k", revision=4)).kvs[0].value == b"2"
