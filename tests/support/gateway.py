"""Nodes that serve etcd's JSON gateway, and a small HTTP client for it.

etcd serves the gateway on its client port, and so does kvcore's h2 transport; with
the grpc one, kvcore serves it on an HTTP listener of its own. Both expose
``gateway_url``.
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.ports import HOST, free_port
from support.process import Supervisor
from support.servers import (
    EtcdServer,
    KvcoreServer,
    client_transport,
    kvcore_config,
    write_yaml,
)

HTTP_TIMEOUT_SECONDS = 10.0


class HttpKvcore(KvcoreServer):
    """A kvcore node that serves the gateway: on its client port (h2), or on an HTTP
    listener beside its gRPC one."""

    def __init__(self, supervisor: Supervisor, workdir: Path) -> None:
        super().__init__(supervisor, workdir)
        transport = client_transport()
        if transport == "h2":
            self.http_port = int(self.endpoint.rpartition(":")[2])
            listeners = [{"transport": transport, "address": self.endpoint}]
        else:
            self.http_port = free_port()
            listeners = [
                {"transport": transport, "address": self.endpoint},
                {"transport": "http", "address": f"{HOST}:{self.http_port}"},
            ]
        config = kvcore_config(self.endpoint, self.data_dir, client_listeners=listeners)
        write_yaml(self.config_path, config)

    @property
    def gateway_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def _serves(self) -> bool:
        """Ready once both listeners serve and the member's client URLs went through
        raft: etcd starts serving only after that, and the tests compare with it."""
        if not (super()._serves() and _listens(self.http_port)):
            return False
        members = post(self.gateway_url, "/v3/cluster/member/list", {}).json()["members"]
        return "clientURLs" in members[0]


def _listens(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def etcd_gateway_url(node: EtcdServer) -> str:
    return f"http://{node.endpoint}"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case

    def json(self) -> Any:
        return json.loads(self.body)

    def lines(self) -> list[Any]:
        """A streamed answer: one JSON value per line."""
        return [json.loads(line) for line in self.body.splitlines() if line.strip()]


def request(
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> Answer:
    """POST ``body`` (GET without one, unless ``method`` says); HTTP errors are answers
    too."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_SECONDS) as resp:
            return _answer(resp.status, resp.read(), resp.headers)
    except urllib.error.HTTPError as err:
        with err:
            return _answer(err.code, err.read(), err.headers)


def _answer(status: int, body: bytes, headers: Any) -> Answer:
    named = {name.lower(): value for name, value in headers.items()}
    return Answer(status, body, named.get("content-type", ""), named)


def post(base: str, path: str, payload: Any, headers: dict[str, str] | None = None) -> Answer:
    return request(base + path, json.dumps(payload).encode(), headers)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
