"""Bad requests and bad configs: refused with etcd's errors, and the server carries on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message
from support.rawclient import RpcFailure
from support.requests import FROM_KEY, Step, put, rng, txn
from support.servers import Server, kvcore_config, run_kvcore, write_yaml

from kvcore.api.etcdserverpb import rpc_pb2

from .compare import Pair

OVERSIZED = "x" * (1_572_864 + 1024)
REFUSE_SECONDS = 15.0  # a refused config must end kvcore well within this


@pytest.mark.etcd
def test_empty_key_and_oversized_value(pair: Pair) -> None:
    pair.script(
        ("put", "", "v"),
        ("get", ""),
        ("del", ""),
        ("get", "", "--prefix", "--keys-only", "-w", "json"),
    )
    pair.same("put", "big/k", stdin=OVERSIZED)
    pair.same("get", "big/k")


BAD_REQUESTS: list[Step] = [
    put("", "v"),
    rng(""),
    put("ok/k", OVERSIZED),
    txn(success=[put("ok/a", "1"), put("ok/a", "2")]),
    txn(success=[put(f"ok/{i}", "v") for i in range(129)]),
    put("ok/missing", ignore_value=True),
    put("ok/a", lease=42),
    rng("ok/a", revision=10_000),
]


@pytest.mark.etcd  # etcdctl checks health at the end
def test_server_keeps_serving_after_bad_requests(fresh_subject: Server) -> None:
    with fresh_subject.client() as client:
        for i in range(10):
            client.ok("Put", rpc_pb2.PutRequest(key=f"ok/{i}".encode(), value=b"v"))
        before = _everything(client.call("Range", rng(FROM_KEY, FROM_KEY).request))
        for step in BAD_REQUESTS:
            assert isinstance(client.call(step.method, step.request), RpcFailure), step
        after = _everything(client.call("Range", rng(FROM_KEY, FROM_KEY).request))
    assert after == before
    assert fresh_subject.etcdctl().run("endpoint", "health").code == 0


def _everything(response: Message | RpcFailure) -> Any:
    assert isinstance(response, rpc_pb2.RangeResponse), response
    return response.header.revision, [(kv.key, kv.value, kv.mod_revision) for kv in response.kvs]


def _refused(config_path: Path) -> str:
    """Run kvcore on a config it must refuse; return what it printed."""
    started = time.monotonic()
    done = run_kvcore(config_path, timeout=REFUSE_SECONDS)
    assert done.returncode != 0, f"kvcore accepted {config_path}:\n{done.stdout}{done.stderr}"
    assert time.monotonic() - started < REFUSE_SECONDS
    message = done.stdout + done.stderr
    assert str(config_path) in message or config_path.name in message, message
    return message


def _config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return kvcore_config("127.0.0.1:1", tmp_path / "data", **overrides)


@pytest.mark.kvcore
def test_malformed_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nengine: {name: memory\nclient_listeners: [\n")
    _refused(path)


@pytest.mark.kvcore
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"limits": {"max_txn_ops": "many"}}, "limits.max_txn_ops"),
        ({"client_listeners": [{"transport": "grpc", "address": "nowhere"}]}, "address"),
        ({"engine": {"options": {}}}, "engine.name"),
        ({"colour": "blue"}, "colour"),
    ],
    ids=["wrong-type", "bad-address", "missing-field", "unknown-field"],
)
def test_invalid_field_is_named(tmp_path: Path, overrides: dict[str, Any], field: str) -> None:
    path = write_yaml(tmp_path / "invalid.yaml", _config(tmp_path, **overrides))
    assert field in _refused(path)


@pytest.mark.kvcore
def test_unknown_engine_lists_installed_ones(tmp_path: Path) -> None:
    config = _config(tmp_path, engine={"name": "no-such-engine", "options": {}})
    message = _refused(write_yaml(tmp_path / "engine.yaml", config))
    assert "no-such-engine" in message
    assert "memory" in message
