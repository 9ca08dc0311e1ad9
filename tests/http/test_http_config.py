"""The http transport as a node's YAML names it: found by entry point, options checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from kvcore_http import HttpTransport

from kvcore import config
from kvcore.registry import Registry
from kvcore.server.node import Node

ROOT = Path(__file__).resolve().parents[2]


def test_http_transport_comes_from_its_entry_point():
    assert isinstance(Registry().transport("http"), HttpTransport)


def test_example_config_serves_grpc_and_http():
    path = ROOT / "configs" / "http.yaml"
    node = Node(config.load(path), str(path))
    assert [x.config.transport for x in node.listeners] == ["h2", "http"]
    assert isinstance(node.listeners[1].transport, HttpTransport)


def test_unknown_option_is_named():
    cfg = config.parse(
        {
            "data_dir": "d",
            "engine": {"name": "memory"},
            "client_listeners": [
                {"transport": "http", "address": "127.0.0.1:2381", "options": {"tls": 1}}
            ],
        }
    )
    with pytest.raises(config.ConfigError, match=r"client_listeners\[0\]\.options\.tls"):
        Node(cfg, "node.yaml")


def test_http_cannot_carry_peer_traffic():
    cfg = config.parse(
        {
            "data_dir": "d",
            "engine": {"name": "memory"},
            "client_listeners": [{"transport": "grpc", "address": "127.0.0.1:2379"}],
            "peer_listener": {"transport": "http", "address": "127.0.0.1:2380"},
        }
    )
    with pytest.raises(config.ConfigError, match="cannot carry traffic between members"):
        Node(cfg, "node.yaml")
