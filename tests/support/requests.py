"""Short builders for etcd's KV requests, as (method, message) steps a client can send.

Keys and values may be given as str (UTF-8) or bytes. Enum names are etcd's:
``rng("a", sort_target="MOD", sort_order="DESCEND")``,
``cmp("k", "VERSION", "GREATER", version=1)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf import text_format
from google.protobuf.message import Message

from kvcore.api.etcdserverpb import rpc_pb2

Bytes = str | bytes
FROM_KEY = b"\0"  # as range_end: every key >= key
MAX_SHOWN = 300  # characters of a request shown in failure messages


@dataclass(frozen=True)
class Step:
    method: str
    request: Message

    def __str__(self) -> str:
        text = text_format.MessageToString(self.request, as_one_line=True, as_utf8=True)
        return f"{self.method} {{{text[:MAX_SHOWN]}}}"


def b(value: Bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def prefix_end(prefix: Bytes) -> bytes:
    """The range_end that selects every key starting with ``prefix`` (as clientv3 does)."""
    key = bytearray(b(prefix))
    while key:
        if key[-1] < 0xFF:
            key[-1] += 1
            return bytes(key)
        key.pop()
    return FROM_KEY


def _bytes_fields(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: b(v) if k in names else v for k, v in fields.items()}


def rng(key: Bytes, range_end: Bytes | None = None, **fields: Any) -> Step:
    if range_end is not None:
        fields["range_end"] = range_end
    # Enum values by name; a number (one outside the enum too) goes as it is.
    if isinstance(order := fields.get("sort_order"), str):
        fields["sort_order"] = rpc_pb2.RangeRequest.SortOrder.Value(order)
    if isinstance(target := fields.get("sort_target"), str):
        fields["sort_target"] = rpc_pb2.RangeRequest.SortTarget.Value(target)
    fields = _bytes_fields(fields, "range_end")
    return Step("Range", rpc_pb2.RangeRequest(key=b(key), **fields))


def prefix(key: Bytes, **fields: Any) -> Step:
    return rng(key, prefix_end(key), **fields)


def put(key: Bytes, value: Bytes = b"", **fields: Any) -> Step:
    return Step("Put", rpc_pb2.PutRequest(key=b(key), value=b(value), **fields))


def delete(key: Bytes, range_end: Bytes | None = None, **fields: Any) -> Step:
    if range_end is not None:
        fields["range_end"] = b(range_end)
    return Step("DeleteRange", rpc_pb2.DeleteRangeRequest(key=b(key), **fields))


def compact(revision: int, physical: bool = False) -> Step:
    return Step("Compact", rpc_pb2.CompactionRequest(revision=revision, physical=physical))


def hash_kv(revision: int = 0) -> Step:
    return Step("HashKV", rpc_pb2.HashKVRequest(revision=revision))


def cmp(
    key: Bytes,
    target: str,
    result: str,
    range_end: Bytes | None = None,
    **target_value: Any,
) -> rpc_pb2.Compare:
    """A Compare; ``target_value`` is one of value=, version=, create_revision=,
    mod_revision=, lease=."""
    fields = _bytes_fields(target_value, "value")
    if range_end is not None:
        fields["range_end"] = b(range_end)
    return rpc_pb2.Compare(
        key=b(key),
        target=rpc_pb2.Compare.CompareTarget.Value(target),
        result=rpc_pb2.Compare.CompareResult.Value(result),
        **fields,
    )


_OP_FIELDS = {
    "Range": "request_range",
    "Put": "request_put",
    "DeleteRange": "request_delete_range",
    "Txn": "request_txn",
}


def op(step: Step) -> rpc_pb2.RequestOp:
    """The RequestOp that runs ``step`` inside a transaction."""
    return rpc_pb2.RequestOp(**{_OP_FIELDS[step.method]: step.request})


def txn(
    compare: list[rpc_pb2.Compare] | None = None,
    success: list[Step] | None = None,
    failure: list[Step] | None = None,
) -> Step:
    request = rpc_pb2.TxnRequest(
        compare=compare or [],
        success=[op(s) for s in success or []],
        failure=[op(s) for s in failure or []],
    )
    return Step("Txn", request)


# A named, scripted sequence of requests, as the differential tests run them.
Scenario = tuple[str, list[Step]]
