"""The requests each workload sends: pre-built etcd KV messages, one driver per slot.

A slot is one request in flight. `Workload.step(call, slot, keys, stats)` returns a
zero-argument coroutine function that sends one request; the load loop times each
call of it. Slots are numbered across all client processes; `keys` is the key count.
Channels are opened without (de)serializers, so requests go out as pre-serialized
bytes and replies come back as bytes, parsed only where the workload needs them.
"""

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from itertools import cycle, islice

from kvcore.api.etcdserverpb import rpc_pb2 as pb

Call = Callable[[bytes], Awaitable[bytes]]
Step = Callable[[], Awaitable[object]]

KV = "/etcdserverpb.KV/"
VALUE_BYTES = 1024


def key(i: int) -> bytes:
    """The i-th key, laid out as kube-apiserver stores pods."""
    return f"/registry/pods/ns-{i % 16}/pod-{i}".encode()


def value(i: int) -> bytes:
    """A ~1 KiB value, distinct per key."""
    head = f'{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"pod-{i}"}},"pad":"'
    return (head.encode() + b"x" * VALUE_BYTES)[: VALUE_BYTES - 2] + b'"}'


def put_request(i: int) -> bytes:
    return pb.PutRequest(key=key(i), value=value(i)).SerializeToString()


def range_request(i: int, serializable: bool) -> bytes:
    return pb.RangeRequest(key=key(i), serializable=serializable).SerializeToString()


@dataclass(frozen=True)
class Workload:
    name: str
    method: str
    describe: str
    step: Callable[[Call, int, int, Counter[str]], Step]


@cache
def _prebuilt(build: Callable[[int], bytes], keys: int) -> tuple[bytes, ...]:
    """One serialized request per key, built once per process."""
    return tuple(build(i) for i in range(keys))


def _cycling(build: Callable[[int], bytes]) -> Callable[[Call, int, int, Counter[str]], Step]:
    """A step that walks the key space from the slot's own offset, request by request."""

    def step(call: Call, slot: int, keys: int, stats: Counter[str]) -> Step:
        requests = islice(cycle(_prebuilt(build, keys)), slot * 7919 % keys, None)
        return lambda: call(next(requests))

    return step


def _txn_step(call: Call, slot: int, keys: int, stats: Counter[str]) -> Step:
    """kube-apiserver's GuaranteedUpdate: put if unchanged since last seen, else get.

    Each slot owns one key (as each pod has one writer), so after the first round
    trip learns the key's mod_revision, every Txn takes the success branch.
    """
    k = key(slot % keys)
    request = pb.TxnRequest(
        compare=[
            pb.Compare(result=pb.Compare.EQUAL, target=pb.Compare.MOD, key=k, mod_revision=0)
        ],
        success=[pb.RequestOp(request_put=pb.PutRequest(key=k, value=value(slot)))],
        failure=[pb.RequestOp(request_range=pb.RangeRequest(key=k))],
    )
    compare = request.compare[0]

    async def step() -> None:
        reply = pb.TxnResponse.FromString(await call(request.SerializeToString()))
        if reply.succeeded:
            compare.mod_revision = reply.header.revision
            return
        stats["txn_conflicts"] += 1
        kvs = reply.responses[0].response_range.kvs
        compare.mod_revision = kvs[0].mod_revision if kvs else 0

    return step


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("put", KV + "Put", "Put of a ~1 KiB value", _cycling(put_request)),
        Workload(
            "range-lin",
            KV + "Range",
            "Range of one key, linearizable",
            _cycling(lambda i: range_request(i, serializable=False)),
        ),
        Workload(
            "range-ser",
            KV + "Range",
            "Range of one key, serializable",
            _cycling(lambda i: range_request(i, serializable=True)),
        ),
        Workload(
            "txn-update",
            KV + "Txn",
            "Txn: if mod_revision == last seen then put ~1 KiB else get",
            _txn_step,
        ),
    )
}
