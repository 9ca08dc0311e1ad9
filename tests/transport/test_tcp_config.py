"""The tcp transport as a node's YAML names it: found by entry point, options checked,
and only ever a peer listener."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kvcore_tcp import TcpTransport

from kvcore import config
from kvcore.registry import Registry
from kvcore.server.node import Node


def _config(**fields: Any) -> config.NodeConfig:
    return config.parse(
        {
            "data_dir": "d",
            "engine": {"name": "memory"},
            "client_listeners": [{"transport": "grpc", "address": "127.0.0.1:2379"}],
            **fields,
        }
    )


def test_tcp_comes_from_its_entry_point() -> None:
    assert isinstance(Registry().transport("tcp"), TcpTransport)


def test_tcp_carries_peer_traffic() -> None:
    peer = {"transport": "tcp", "address": "127.0.0.1:2380"}
    node = Node(_config(peer_listener=peer), "node.yaml")
    assert node.peer_listener is not None
    assert isinstance(node.peer_listener.transport, TcpTransport)


def test_tcp_cannot_serve_clients() -> None:
    cfg = _config(client_listeners=[{"transport": "tcp", "address": "127.0.0.1:2379"}])
    with pytest.raises(
        config.ConfigError, match=r"client_listeners\[0\]\.transport: 'tcp' cannot serve clients"
    ):
        Node(cfg, "node.yaml")


def test_unknown_option_is_named() -> None:
    peer = {"transport": "tcp", "address": "127.0.0.1:2380", "options": {"colour": "red"}}
    with pytest.raises(config.ConfigError, match=r"peer_listener\.options\.colour: unknown"):
        Node(_config(peer_listener=peer), "node.yaml")


def test_tls_needs_a_ca_to_check_peers_with(tmp_path: Path) -> None:
    for name in ("m.crt", "m.key"):
        (tmp_path / name).write_text("")
    tls = {"cert_file": tmp_path / "m.crt", "key_file": tmp_path / "m.key"}
    tls["client_cert_auth"] = True
    peer = {"transport": "tcp", "address": "127.0.0.1:2380", "options": {"tls": tls}}
    with pytest.raises(config.ConfigError, match=r"peer_listener\.options\.tls: .*needs ca_file"):
        Node(_config(peer_listener=peer), "node.yaml")
