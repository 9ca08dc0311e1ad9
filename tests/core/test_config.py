"""The YAML loader: every bad input is named by file and field, nothing else accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvcore import config
from kvcore.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.yaml"
    path.write_text(text)
    return path


def test_every_shipped_config_loads() -> None:
    configs = sorted((ROOT / "configs").rglob("*.yaml"))
    assert configs
    for path in configs:
        config.load(path)


def test_single_is_the_embedded_default() -> None:
    cfg = config.load(ROOT / "configs" / "single.yaml")
    assert cfg.engine.name == "memory"
    assert [(x.transport, x.address) for x in cfg.client_listeners] == [("h2", "127.0.0.1:2379")]
    assert not cfg.data_dir.is_absolute()
    assert cfg.limits.max_request_bytes == 1_572_864
    assert cfg.limits.max_txn_ops == 128
    assert cfg.request_timeout == 7.0  # etcd's, for its default election timeout


def test_request_timeout_follows_the_election_timeout_unless_set() -> None:
    base = config.load(ROOT / "configs" / "single.yaml").model_dump()
    slow = config.NodeConfig.model_validate({**base, "raft": {"election_timeout_ms": 5000}})
    assert slow.request_timeout == 15.0
    limits = {**base["limits"], "request_timeout": 2.5}
    assert config.NodeConfig.model_validate({**base, "limits": limits}).request_timeout == 2.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "data_dir: d\nclient_listeners: [{transport: grpc, address: '127.0.0.1:1'}]\n",
            "engine: required field is missing",
        ),
        (
            "data_dir: d\nengine: {name: memory}\nclient_listeners: []\n",
            "client_listeners: List should have at least 1 item",
        ),
        (
            "data_dir: d\nengine: {name: memory, colour: red}\n"
            "client_listeners: [{transport: grpc, address: '127.0.0.1:1'}]\n",
            "engine.colour: unknown field",
        ),
        (
            "data_dir: d\nengine: {name: memory}\n"
            "client_listeners: [{transport: grpc, address: 'nowhere'}]\n",
            "client_listeners[0].address: expected host:port",
        ),
        (
            "data_dir: d\nengine: {name: memory}\nlimits: {max_txn_ops: many}\n"
            "client_listeners: [{transport: grpc, address: '127.0.0.1:1'}]\n",
            "limits.max_txn_ops: Input should be a valid integer",
        ),
        (
            "data_dir: d\nengine: {name: memory}\nraft: {heartbeat_interval_ms: 500}\n"
            "client_listeners: [{transport: grpc, address: '127.0.0.1:1'}]\n",
            "raft: election_timeout_ms must be at least 5 times",
        ),
        (
            "data_dir: d\nengine: {name: memory}\ncluster_state: existing\n"
            "client_listeners: [{transport: grpc, address: '127.0.0.1:1'}]\n",
            "cluster_state 'existing' needs initial_cluster",
        ),
        (
            "data_dir: d\nengine: {name: memory}\npeer_urls: [notaurl]\n"
            "client_listeners: [{transport: grpc, address: '127.0.0.1:1'}]\n",
            "peer_urls: peer URL 'notaurl' is not http(s)://host:port",
        ),
        (
            "data_dir: d\nengine: {name: memory}\nauth: {jwt: {private_key: /absent.pem}}\n"
            "client_listeners: [{transport: grpc, address: '127.0.0.1:1'}]\n",
            "auth.jwt.private_key: Path does not point to a file (got '/absent.pem')",
        ),
        (
            "data_dir: d\nengine: {name: memory}\nclient_listeners: "
            "[{transport: grpc, address: '127.0.0.1:1'},\n"
            " {transport: http, address: '127.0.0.1:1'}]\n",
            "two listeners on 127.0.0.1:1: each needs its own",
        ),
    ],
)
def test_bad_fields_are_named(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    assert message.startswith(f"{path}: invalid configuration:")
    assert expected in message


def test_all_errors_reported_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "engine: {name: 3, extra: 1}\nbogus: true\n")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    for field in ("data_dir", "client_listeners", "engine.extra", "bogus", "engine.name"):
        assert f"  {field}: " in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "not valid YAML"),
        ("- a list\n- not a mapping\n", "expected a mapping of settings"),
        ("", "expected a mapping of settings"),
        ("name: a\nname: b\n", "found the key 'name' twice"),
    ],
)
def test_malformed_yaml(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected):
        config.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(tmp_path / "absent.yaml")
