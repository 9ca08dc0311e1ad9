"""GET /health, /version and /metrics on kvcore's HTTP listener, beside etcd's."""

from __future__ import annotations

import re

import pytest
from support.gateway import HttpKvcore, b64, post, request

from kvcore.api.etcdserverpb import rpc_pb2

pytestmark = [pytest.mark.etcd, pytest.mark.kvcore]

# etcd's names, which a dashboard or alert written for etcd reads.
ETCD_METRICS = {
    "etcd_server_has_leader": "gauge",
    "etcd_server_is_leader": "gauge",
    "etcd_server_leader_changes_seen_total": "counter",
    "etcd_server_proposals_committed_total": "gauge",
    "etcd_server_proposals_applied_total": "gauge",
    "etcd_server_proposals_pending": "gauge",
    "etcd_server_proposals_failed_total": "counter",
    "etcd_disk_wal_fsync_duration_seconds": "histogram",
    "etcd_disk_backend_commit_duration_seconds": "histogram",
    "etcd_mvcc_db_total_size_in_bytes": "gauge",
    "etcd_mvcc_db_total_size_in_use_in_bytes": "gauge",
    "etcd_debugging_mvcc_keys_total": "gauge",
    "etcd_debugging_mvcc_current_revision": "gauge",
    "etcd_debugging_mvcc_compact_revision": "gauge",
    "grpc_server_started_total": "counter",
    "grpc_server_handled_total": "counter",
}
KVCORE_METRICS = {
    "kvcore_engine_commit_duration_seconds": "histogram",
    "kvcore_engine_size_bytes": "gauge",
    "kvcore_engine_size_in_use_bytes": "gauge",
}
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def _types(text: str) -> dict[str, str]:
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))


def _samples(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if match := _SAMPLE.match(line):
            found[match[1] + (match[2] or "")] = float(match[3])
    return found


def _scrape(base: str) -> str:
    answer = request(base + "/metrics")
    assert answer.status == 200
    assert answer.content_type.startswith("text/plain; version=0.0.4")
    return answer.body.decode()


def test_health(kvcore_http: HttpKvcore, etcd_url: str):
    ours, theirs = request(kvcore_http.gateway_url + "/health"), request(etcd_url + "/health")
    assert (ours.status, ours.body) == (theirs.status, theirs.body) == (200, b'{"health":"true"}')
    assert ours.content_type == theirs.content_type


def test_version(kvcore_http: HttpKvcore, etcd_url: str):
    ours, theirs = request(kvcore_http.gateway_url + "/version"), request(etcd_url + "/version")
    assert ours.status == theirs.status == 200
    assert list(ours.json()) == list(theirs.json()) == ["etcdserver", "etcdcluster"]
    assert ours.content_type == theirs.content_type == "application/json"
    status = post(kvcore_http.gateway_url, "/v3/maintenance/status", {}).json()
    assert ours.json()["etcdserver"] == status["version"]


def test_metrics_carry_etcds_names_and_types(kvcore_http: HttpKvcore, etcd_url: str):
    ours, theirs = _types(_scrape(kvcore_http.gateway_url)), _types(_scrape(etcd_url))
    for name, kind in ETCD_METRICS.items():
        assert ours.get(name) == theirs.get(name) == kind, name
    for name, kind in KVCORE_METRICS.items():
        assert ours.get(name) == kind, name


def test_metrics_move_with_writes(kvcore_http: HttpKvcore):
    base = kvcore_http.gateway_url
    before = _samples(_scrape(base))
    for i in range(3):
        assert post(base, "/v3/kv/put", {"key": b64(f"m/{i}"), "value": b64("v")}).status == 200
    assert post(base, "/v3/kv/range", {}).status == 400
    with kvcore_http.client() as grpc_client:
        grpc_client.call("Put", rpc_pb2.PutRequest(key=b"m/grpc", value=b"v"))
        grpc_client.call("Range", rpc_pb2.RangeRequest())
    after = _samples(_scrape(base))

    def grew(name: str, by: float = 1) -> bool:
        return after.get(name, 0) - before.get(name, 0) >= by

    put = 'grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"'
    rng = 'grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"'
    assert grew(f"grpc_server_started_total{{{put}}}", 4)  # HTTP and gRPC alike
    assert grew(f'grpc_server_handled_total{{grpc_code="OK",{put}}}', 4)
    assert grew(f'grpc_server_handled_total{{grpc_code="InvalidArgument",{rng}}}', 2)
    assert grew("etcd_server_proposals_applied_total", 4)
    assert grew("etcd_server_proposals_committed_total", 4)
    assert grew("etcd_disk_wal_fsync_duration_seconds_count")
    assert grew("etcd_disk_backend_commit_duration_seconds_count")
    assert grew('kvcore_engine_commit_duration_seconds_count{engine="memory"}')
    assert grew("etcd_debugging_mvcc_keys_total", 4)
    assert grew("etcd_debugging_mvcc_current_revision", 4)
    assert after["etcd_server_has_leader"] == after["etcd_server_is_leader"] == 1
    assert after["etcd_server_leader_changes_seen_total"] >= 1
    assert after["etcd_server_proposals_pending"] == 0
    assert after["etcd_mvcc_db_total_size_in_bytes"] > 0
