"""The same HTTP requests to etcd's gateway and to kvcore's: the same answers.

Both stores start empty and take every request of this module in the same order, so
revisions agree; cluster and member ids and raft terms are masked. Bodies are compared
as parsed JSON with their keys in order (etcd's field order is part of its shape).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.gateway import Answer, HttpKvcore, b64, post, request
from support.normalize import ID_FIELDS, ID_PLACEHOLDER

pytestmark = [pytest.mark.etcd, pytest.mark.kvcore]


def _ordered(value: Any) -> Any:
    """JSON with objects as key-ordered pair lists and header ids masked."""
    if isinstance(value, dict):
        return [(k, ID_PLACEHOLDER if k in ID_FIELDS else _ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def _shape(answer: Answer) -> tuple[int, Any]:
    return answer.status, _ordered(answer.json())


@pytest.fixture(scope="module")
def both(kvcore_http: HttpKvcore, etcd_url: str) -> tuple[str, str]:
    return kvcore_http.gateway_url, etcd_url


def same(both: tuple[str, str], path: str, payload: Any) -> Answer:
    """Send ``payload`` to both, assert equal answers, return kvcore's."""
    ours, theirs = (post(base, path, payload) for base in both)
    assert _shape(ours) == _shape(theirs), f"POST {path} {json.dumps(payload)}"
    return ours


def test_put_and_range(both):
    same(both, "/v3/kv/put", {"key": b64("a/1"), "value": b64("one")})
    same(both, "/v3/kv/put", {"key": b64("a/2"), "value": b64("two"), "prev_kv": True})
    same(both, "/v3/kv/put", {"key": b64("a/1"), "value": b64("uno"), "prev_kv": True})
    same(both, "/v3/kv/put", {"key": b64("a/1"), "ignore_value": True, "prev_kv": True})
    same(both, "/v3/kv/range", {"key": b64("a/1")})
    same(both, "/v3/kv/range", {"key": b64("a/"), "range_end": b64("a0")})
    same(both, "/v3/kv/range", {"key": b64("missing")})
    same(
        both,
        "/v3/kv/range",
        {"key": b64("a/"), "range_end": b64("a0"), "limit": "1", "sort_order": "DESCEND"},
    )
    same(
        both,
        "/v3/kv/range",
        {"key": b64("a/"), "range_end": b64("a0"), "sort_order": 2, "sortTarget": "VERSION"},
    )
    same(both, "/v3/kv/range", {"key": b64("a/"), "range_end": b64("a0"), "count_only": True})
    same(both, "/v3/kv/range", {"key": b64("a/"), "range_end": b64("a0"), "keys_only": True})
    same(both, "/v3/kv/range", {"key": b64("a/1"), "revision": 2})
    same(both, "/v3/kv/range", {"key": b64("a/1"), "serializable": True, "unknown": 1})
    same(both, "/v3/kv/range", {"key": "AA==", "range_end": "AA=="})


def test_deleterange(both):
    same(both, "/v3/kv/put", {"key": b64("d/1"), "value": b64("x")})
    same(both, "/v3/kv/put", {"key": b64("d/2"), "value": b64("y")})
    same(both, "/v3/kv/deleterange", {"key": b64("d/nothing")})
    same(both, "/v3/kv/deleterange", {"key": b64("d/1")})
    same(both, "/v3/kv/deleterange", {"key": b64("d/"), "range_end": b64("d0"), "prev_kv": True})


def test_txn(both):
    same(both, "/v3/kv/put", {"key": b64("t/k"), "value": b64("v")})
    compare_value = {"key": b64("t/k"), "result": "EQUAL", "target": "VALUE", "value": b64("v")}
    same(
        both,
        "/v3/kv/txn",
        {
            "compare": [compare_value],
            "success": [
                {"request_range": {"key": b64("t/k")}},
                {"request_put": {"key": b64("t/n"), "value": b64("new"), "prev_kv": True}},
                {"request_delete_range": {"key": b64("t/none")}},
            ],
            "failure": [{"request_put": {"key": b64("t/f"), "value": b64("f")}}],
        },
    )
    same(
        both,
        "/v3/kv/txn",
        {
            "compare": [
                {"key": b64("t/k"), "result": "GREATER", "target": "VERSION", "version": 5}
            ],
            "success": [{"request_put": {"key": b64("t/s"), "value": b64("s")}}],
            "failure": [
                {"request_range": {"key": b64("t/"), "range_end": b64("t0")}},
                {
                    "request_txn": {
                        "compare": [{"key": b64("t/n"), "target": "CREATE", "create_revision": 0}],
                        "failure": [{"request_range": {"key": b64("t/n"), "keys_only": True}}],
                    }
                },
            ],
        },
    )
    same(both, "/v3/kv/txn", {})


def test_errors(both):
    same(both, "/v3/kv/range", {})
    same(both, "/v3/kv/put", {"value": b64("v")})
    same(both, "/v3/kv/put", {"key": b64("e/k"), "value": b64("v"), "ignore_value": True})
    same(both, "/v3/kv/put", {"key": b64("e/k"), "lease": "12345"})
    same(both, "/v3/kv/deleterange", {})
    same(both, "/v3/kv/range", {"key": b64("e/k"), "revision": 100000})
    put = {"request_put": {"key": b64("e/dup"), "value": b64("v")}}
    same(both, "/v3/kv/txn", {"success": [put, put]})
    many = [{"request_range": {"key": b64(f"e/{i}")}} for i in range(129)]
    same(both, "/v3/kv/txn", {"success": many})


@pytest.mark.parametrize("size", [1_700_000, 2_200_000])
def test_oversized_requests(both, size):
    """Past --max-request-bytes etcd's own error; past its gRPC limit gRPC's."""
    answer = same(both, "/v3/kv/put", {"key": b64("big"), "value": b64("x" * size)})
    assert answer.status in (400, 429)


def test_compaction(both):
    same(both, "/v3/kv/put", {"key": b64("c/k"), "value": b64("1")})
    same(both, "/v3/kv/put", {"key": b64("c/k"), "value": b64("2")})
    revision = int(post(both[0], "/v3/kv/range", {"key": b64("c/k")}).json()["header"]["revision"])
    same(both, "/v3/kv/compaction", {"revision": revision + 100})
    same(both, "/v3/kv/compaction", {"revision": str(revision - 1), "physical": True})
    same(both, "/v3/kv/compaction", {"revision": revision - 1})
    same(both, "/v3/kv/range", {"key": b64("c/k"), "revision": revision - 2})
    same(both, "/v3/kv/range", {"key": b64("c/k"), "revision": revision})


@pytest.mark.parametrize(
    "body",
    [
        b"notjson",
        b"[]",
        b'{"key":"Zm9v!"}',
        b'{"key":"Zm9v","limit":1.5}',
        b'{"key":"Zm9v","sort_order":"BAD"}',
        b'{"key": 5}',
    ],
)
def test_undecodable_bodies(both, body):
    """Go's and Python's parsers word their complaints differently: code and status."""
    ours, theirs = (request(base + "/v3/kv/range", body) for base in both)
    assert (ours.status, ours.json()["code"]) == (theirs.status, theirs.json()["code"]) == (400, 3)
    assert ours.json()["error"] == ours.json()["message"]


@pytest.mark.parametrize(
    "key", ["Zm8", "Zm8=", "_-8=", "Zm 8=", "Zm9v!", "Zm8=\n", "Zg===", "Zm9v=", "Zm9v=="]
)
def test_base64_as_go_reads_it(both, key):
    """Standard base64 with padding only, and Go's words for what is not."""
    same(both, "/v3/kv/range", {"key": key})
    same(both, "/v3/kv/txn", {"success": [{"request_range": {"key": "Zg==", "range_end": key}}]})


@pytest.mark.parametrize("value", ["BAD", "ascend", 1, "DESCEND"])
def test_enums_by_name_or_number(both, value):
    same(both, "/v3/kv/range", {"key": b64("a/"), "range_end": b64("a0"), "sort_order": value})


def test_empty_and_null_bodies_are_empty_requests(both):
    for body in (b"", b"null"):
        ours, theirs = (request(base + "/v3/kv/range", body) for base in both)
        assert _shape(ours) == _shape(theirs)
        assert ours.json()["message"] == "etcdserver: key is not provided"


@pytest.mark.parametrize(
    "body",
    [
        b'{"key":"Zm9v"}{"key":"YmFy"}',  # Go's decoder reads the first value only
        b'{"key":"Zm9v"} and more',
        b' \n{"key":"Zm9v"}',
        b'{"key":',
    ],
)
def test_bodies_read_as_go_reads_them(both, body):
    ours, theirs = (request(base + "/v3/kv/range", body) for base in both)
    assert _shape(ours) == _shape(theirs)


def test_wrong_method_and_unknown_path(both):
    for path, body in (
        ("/v3/kv/range", None),
        ("/v3/kv/nosuch", b"{}"),
        ("/v3beta/kv/nosuch", b"{}"),
        ("/nosuch", None),
        ("/", None),
    ):
        ours, theirs = (request(base + path, body) for base in both)
        assert (ours.status, ours.body) == (theirs.status, theirs.body), path


def test_old_gateway_prefix(both):
    same(both, "/v3beta/kv/range", {"key": b64("a/1")})


CORS = (
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
)


@pytest.mark.parametrize("path", ["/v3/kv/range", "/health", "/nosuch"])
def test_cors_preflight(both, path):
    headers = {"Origin": "http://example.com", "Access-Control-Request-Method": "POST"}
    ours, theirs = (request(base + path, None, headers, "OPTIONS") for base in both)
    assert (ours.status, ours.body) == (theirs.status, theirs.body) == (200, b"")
    assert [ours.headers.get(h) for h in CORS] == [theirs.headers.get(h) for h in CORS]


def test_grpc_metadata_header_once_a_call_is_made(both):
    """grpc-gateway passes the gRPC server's header metadata on with an answer."""
    header = "grpc-metadata-content-type"
    for body in (b'{"key":"Zm9v"}', b"{}", b"notjson"):
        ours, theirs = (request(base + "/v3/kv/range", body) for base in both)
        assert ours.headers.get(header) == theirs.headers.get(header), body


def test_maintenance_and_cluster_shapes(both):
    """Values differ (versions, sizes, URLs); field names and order must not."""

    def keys(value: Any) -> Any:
        if isinstance(value, dict):
            return [(k, keys(v)) for k, v in value.items()]
        if isinstance(value, list):
            return [keys(v) for v in value[:1]]
        return type(value).__name__

    for path in ("/v3/maintenance/status", "/v3/cluster/member/list", "/v3/maintenance/hash"):
        ours, theirs = (post(base, path, {}) for base in both)
        assert ours.status == theirs.status == 200
        assert keys(ours.json()) == keys(theirs.json()), path


def test_snapshot_streams_results(both):
    ours, theirs = (request(base + "/v3/maintenance/snapshot", b"{}") for base in both)
    assert ours.status == theirs.status == 200
    assert ours.content_type == theirs.content_type == "application/json"
    for answer in (ours, theirs):
        lines = answer.lines()
        assert lines and all(list(line) == ["result"] for line in lines)
        assert all("blob" in line["result"] for line in lines[:-1])
        assert lines[-1]["result"].get("remaining_bytes") is None  # the last: 0, left out
    # Only data fields: etcd's snapshot messages carry no header. (Whether
    # remaining_bytes shows depends on how many chunks each store's size makes.)
    for answer in (ours, theirs):
        fields = {name for line in answer.lines() for name in line["result"]}
        assert fields <= {"blob", "remaining_bytes"}, fields


def test_lease_calls(both):
    """Leases by id (generated ids would differ), keys attached, revoke, then unknown."""
    lease_id = "7587"
    same(both, "/v3/lease/grant", {"TTL": "60", "ID": lease_id})
    same(both, "/v3/lease/grant", {"TTL": "60", "ID": lease_id})  # already exists
    same(both, "/v3/kv/put", {"key": b64("l/a"), "value": b64("1"), "lease": lease_id})
    same(both, "/v3/lease/leases", {})
    ours, theirs = (
        post(base, "/v3/lease/timetolive", {"ID": lease_id, "keys": True}).json() for base in both
    )
    # The remaining TTL depends on when each was asked: compare the rest.
    assert abs(int(ours["TTL"]) - int(theirs["TTL"])) <= 1
    for body in (ours, theirs):
        del body["TTL"], body["header"]
    assert list(ours.items()) == list(theirs.items())
    same(both, "/v3/lease/revoke", {"ID": lease_id})
    same(both, "/v3/kv/range", {"key": b64("l/a")})  # gone with its lease
    same(both, "/v3/lease/revoke", {"ID": lease_id})  # not found
    same(both, "/v3/lease/timetolive", {"ID": lease_id})


def test_lock_and_election_calls(both):
    lease_id = "7588"
    same(both, "/v3/lease/grant", {"TTL": "60", "ID": lease_id})
    same(both, "/v3/lock/lock", {"name": b64("gw-lock"), "lease": lease_id})
    same(both, "/v3/election/campaign", {"name": b64("gw-e"), "lease": lease_id, "value": b64("a")})
    same(both, "/v3/election/leader", {"name": b64("gw-e")})
    same(both, "/v3/election/leader", {"name": b64("gw-none")})  # no leader


HEADER_CASES = [
    ("/v3/kv/range", b'{"key":"Zm9v"}'),
    ("/v3/kv/range", b"{bad"),
    ("/v3/kv/range", None),  # GET: 405
    ("/v3/kv/nosuch", b"{}"),
    ("/nosuch", None),
    ("/health", None),
    ("/health", b"{}"),  # POST: 405
    ("/version", None),
    ("/version", b"{}"),
    ("/metrics", None),
    ("/metrics", b"{}"),
]


@pytest.mark.parametrize(("path", "body"), HEADER_CASES)
def test_header_names_as_etcds(both, path, body):
    """No header etcd does not send (aiohttp would name itself in Server), none missing."""
    ours, theirs = (request(base + path, body) for base in both)
    assert ours.status == theirs.status
    assert sorted(ours.headers) == sorted(theirs.headers)


# Bodies Go's decoder and jsonpb refuse, each in its own words, and some they take.
GO_JSON_CASES = [
    ("/v3/kv/range", b"{bad"),
    ("/v3/kv/range", b'{"key":"YQ==",}'),
    ("/v3/kv/range", b'{"key" "YQ=="}'),
    ("/v3/kv/range", b'{"key":"YQ==" "x":1}'),
    ("/v3/kv/range", b"[1 2]"),
    ("/v3/kv/range", b'{"key":"YQ==","limit":tru}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":nul}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":fals}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":-}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":1.}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":1e}'),
    ("/v3/kv/range", b'{"key":"a\x01"}'),
    ("/v3/kv/range", b'{"key":"\\q"}'),
    ("/v3/kv/range", b'{"key":"\\u12g4"}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":01}'),
    ("/v3/kv/range", b"}"),
    ("/v3/kv/range", b"]"),
    ("/v3/kv/range", b'{"key":}'),
    ("/v3/kv/range", b"{,}"),
    ("/v3/kv/range", b'{"a":1,,}'),
    ("/v3/kv/range", b"[,]"),
    ("/v3/kv/range", b'{"key":"YQ==","revision":"abc"}'),
    ("/v3/kv/range", b'{"key":"YQ==","revision":true}'),
    ("/v3/kv/range", b'{"key":"YQ==","revision":1.5}'),
    ("/v3/kv/range", b'{"key":"YQ==","revision":[1]}'),
    ("/v3/kv/range", b'{"key":"YQ==","revision":{}}'),
    ("/v3/kv/range", b'{"key":5}'),
    ("/v3/kv/range", b'{"key":true}'),
    ("/v3/kv/range", b'{"key":["YQ=="]}'),
    ("/v3/kv/range", b'{"key":{}}'),
    ("/v3/kv/range", b"[]"),
    ("/v3/kv/range", b'"abc"'),
    ("/v3/kv/range", b"5"),
    ("/v3/kv/range", b"true"),
    ("/v3/kv/range", b"null"),
    ("/v3/kv/range", b'{"key":"YQ==","limit":"5"}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":" 5"}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":"1e3"}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":1e3}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":-1}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":99999999999999999999}'),
    ("/v3/kv/range", b'{"key":"YQ==","serializable":"true"}'),
    ("/v3/kv/range", b'{"key":"YQ==","serializable":1}'),
    ("/v3/kv/range", b'{"key":"YQ==","sort_order":1.5}'),
    ("/v3/kv/range", b'{"key":"YQ==","sort_order":true}'),
    ("/v3/kv/range", b'{"key":"YQ==","keys_only":null}'),
    ("/v3/kv/range", b'{"key":null}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":+1}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":.5}'),
    ("/v3/kv/range", b'\xef\xbb\xbf{"key":"YQ=="}'),
    ("/v3/kv/range", b'{"key":"YQ==",  "limit" : 1 '),
    ("/v3/kv/range", b'{"key":"YQ'),
    ("/v3/kv/range", b'{"key":"YQ==\\'),
    ("/v3/kv/range", b'{"key":"\xff"}'),
    ("/v3/kv/txn", b'{"compare":{}}'),
    ("/v3/kv/txn", b'{"compare":[5]}'),
    ("/v3/kv/txn", b'{"compare":[{"key":5}]}'),
    ("/v3/kv/txn", b'{"success":[{"request_put":{"key":"YQ==","lease":"x"}}]}'),
    ("/v3/kv/txn", b'{"success":[{"requestPut":{"key":"YQ==","value":"Yg=="}}]}'),
    (
        "/v3/kv/txn",
        b'{"compare":[{"key":"YQ==","target":"VALUE","result":"EQUAL","value":"Yg=="}],'
        b'"success":[{"request_range":{"key":"YQ=="}}]}',
    ),
    ("/v3/kv/txn", b'{"compare":[{"key":"YQ==","target":"NOPE"}]}'),
    ("/v3/kv/txn", b'{"compare":[{"key":"YQ==","target":9}]}'),
    ("/v3/kv/put", b'{"key":"YQ==","value":"Yg==","prev_kv":"yes"}'),
    ("/v3/kv/put", b'{"key":[97],"value":[98,99]}'),
    ("/v3/kv/put", b'{"key":[300]}'),
    ("/v3/lease/grant", b'{"TTL":"10","ID":"abc"}'),
    ("/v3/lease/grant", b'{"TTL":1.0}'),
    ("/v3/kv/compaction", b'{"revision":"1","physical":1}'),
    ("/v3/auth/user/add", b'{"name":5}'),
    ("/v3/auth/user/add", b'{"name":"\\ud800x","password":"p"}'),
    ("/v3/cluster/member/add", b'{"peerURLs":"http://a:1"}'),
    ("/v3/cluster/member/add", b'{"peerURLs":[5]}'),
    ("/v3/cluster/member/remove", b'{"ID":-1}'),
    ("/v3/cluster/member/remove", b'{"ID":"18446744073709551616"}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":"5x"}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":""}'),
    ("/v3/kv/range", b'{"key":"YQ==","limit":"\\"5\\""}'),
    ("/v3/kv/range", b'{"key":"YQ==","key":5}'),
    ("/v3/kv/range", b'{"Key":"YQ=="}'),
    ("/v3/kv/range", b'{"key":"YQ==","sortOrder":"DESCEND","sort_order":"NOPE"}'),
    ("/v3/kv/range", b'{"range_end":5,"key":true}'),
    ("/v3/kv/range", b'{"key":"YQ==","max_mod_revision":1.5,"limit":1.5}'),
]


@pytest.mark.parametrize(("path", "body"), GO_JSON_CASES)
def test_bodies_fail_in_gos_words(both, path, body):
    ours, theirs = (request(base + path, body) for base in both)
    assert (ours.status, error_of(ours)) == (theirs.status, error_of(theirs))


def error_of(answer: Answer) -> Any:
    return answer.json().get("error") if answer.status != 200 else None
