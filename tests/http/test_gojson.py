"""The gateway's JSON scanner (kvcore_http.gojson) and message filler (jsonpb) on
generated input: what Python's parser reads the scanner reads the same, and nothing
makes either raise anything but their own refusals (NotJson, Unfit). Their error texts
are checked against etcd in test_http_differential."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from kvcore_http import gojson, jsonpb

from kvcore.api.etcdserverpb import rpc_pb2

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


def plain(value: Any) -> Any:
    """A gojson value as json.loads gives it."""
    if isinstance(value, gojson.Number):
        return json.loads(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return str(value) if isinstance(value, gojson.String) else value


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_reads_what_python_reads(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    parsed, end = gojson.first_value(text.encode() + b" trailing")
    assert plain(parsed) == json.loads(text)
    assert end == len(text.encode())


# Bytes that make up JSON, and some that do not, so most inputs get some way in.
JSONISH = st.text(alphabet='{}[]",:0123456789.-+eEtruefalsn \\u\x01\xff', max_size=40)


@settings(max_examples=500, deadline=None)
@given(JSONISH | st.binary(max_size=40).map(lambda b: b.decode("latin-1")), st.booleans())
def test_any_bytes_give_a_value_or_not_json(text: str, final: bool) -> None:
    with contextlib.suppress(gojson.NotJson):
        gojson.first_value(text.encode("latin-1"), final)


@settings(max_examples=60, deadline=None)
@given(JSON_VALUES)
def test_a_cut_value_is_incomplete(value: Any) -> None:
    data = json.dumps(value).encode()
    for cut in range(1, len(data)):
        try:
            gojson.first_value(data[:cut], final=False)
        except gojson.Incomplete:
            continue
        except gojson.BadSyntax as exc:
            raise AssertionError(f"{data[:cut]!r}: {exc}") from None


REQUESTS = [
    rpc_pb2.RangeRequest,
    rpc_pb2.PutRequest,
    rpc_pb2.TxnRequest,
    rpc_pb2.LeaseGrantRequest,
    rpc_pb2.MemberAddRequest,
    rpc_pb2.WatchRequest,
]


@st.composite
def request_bodies(draw: st.DrawFn) -> tuple[type, bytes]:
    """A request class and a JSON object naming some of its fields (and those of the
    messages it holds), with any values."""
    cls = draw(st.sampled_from(REQUESTS))
    names = sorted(
        {n for f in cls.DESCRIPTOR.fields for n in (f.name, f.json_name)}
        | {"compare", "success", "request_put", "key", "create_request", "value"}
    )
    body = draw(st.dictionaries(st.sampled_from(names), JSON_VALUES, max_size=4))
    return cls, json.dumps(body).encode()


@settings(max_examples=100, deadline=None)
@given(request_bodies())
def test_any_value_fills_a_request_or_is_unfit(case: tuple[type, bytes]) -> None:
    cls, body = case
    value, _ = gojson.first_value(body)
    with contextlib.suppress(jsonpb.Unfit):
        jsonpb.fill(cls(), value)
