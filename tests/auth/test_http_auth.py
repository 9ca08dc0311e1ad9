"""Auth through the JSON gateway, kvcore's HTTP listener against etcd 3.4's gateway:
/v3/auth/* manages users and roles, /v3/auth/authenticate gives the token that the
``Authorization`` header carries."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support.normalize import json_without_ids
from support.ports import HOST, free_port
from support.process import Supervisor
from support.servers import KvcoreServer, NodeFactory, kvcore_config, write_yaml

# The gateway only maps onto the services the gRPC tests cover: left to the full run.
pytestmark = [pytest.mark.etcd, pytest.mark.slow]


class HttpKvcore(KvcoreServer):
    """A kvcore with a gRPC listener and the JSON gateway on an HTTP one."""

    def __init__(self, supervisor: Supervisor, workdir: Path) -> None:
        super().__init__(supervisor, workdir)
        self.http_port = free_port()
        listeners = [
            {"transport": "grpc", "address": self.endpoint},
            {"transport": "http", "address": f"{HOST}:{self.http_port}"},
        ]
        write_yaml(
            self.config_path,
            kvcore_config(self.endpoint, self.data_dir, client_listeners=listeners),
        )


def _post(base: str, path: str, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": token} if token else {}
    req = urllib.request.Request(base + path, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _story(base: str) -> list[Any]:
    seen: list[Any] = []
    tokens: dict[str, str] = {}

    def call(path: str, body: dict[str, Any], as_user: str | None = None) -> Any:
        status, answer = _post(base, path, body, tokens.get(as_user or ""))
        if "token" in answer:
            answer["token"] = "<token>"
        seen.append([path, as_user, status, json_without_ids(answer)])
        return answer

    for path, body in [
        ("/v3/auth/user/add", {"name": "root", "password": "rootpw"}),
        ("/v3/auth/role/add", {"name": "root"}),
        ("/v3/auth/user/grant", {"user": "root", "role": "root"}),
        ("/v3/auth/user/add", {"name": "u", "password": "upw"}),
        ("/v3/auth/role/add", {"name": "r"}),
        (
            "/v3/auth/role/grant",
            {"name": "r", "perm": {"key": _b64("k"), "permType": "READWRITE"}},
        ),
        ("/v3/auth/user/grant", {"user": "u", "role": "r"}),
        ("/v3/auth/enable", {}),
    ]:
        call(path, body)
    for name, password in [("root", "rootpw"), ("u", "upw")]:
        status, answer = _post(
            base, "/v3/auth/authenticate", {"name": name, "password": password}, None
        )
        assert status == 200, answer
        tokens[name] = answer["token"]
    call("/v3/auth/authenticate", {"name": "u", "password": "wrong"})
    call("/v3/kv/put", {"key": _b64("k"), "value": _b64("v")})
    call("/v3/kv/put", {"key": _b64("k"), "value": _b64("v")}, "u")
    call("/v3/kv/range", {"key": _b64("k")}, "u")
    call("/v3/kv/put", {"key": _b64("other"), "value": _b64("v")}, "u")
    call("/v3/kv/range", {"key": _b64("other")}, "u")
    call("/v3/auth/user/list", {}, "u")
    call("/v3/auth/user/list", {}, "root")
    call("/v3/auth/role/get", {"role": "r"}, "root")
    call("/v3/auth/user/get", {"name": "u"}, "u")
    call("/v3/kv/range", {"key": _b64("k")}, "root")
    call("/v3/auth/disable", {}, "u")
    call("/v3/auth/disable", {}, "root")
    return seen


def test_auth_through_the_gateway_as_etcd(
    supervisor: Supervisor, nodes: NodeFactory, tmp_path: Path
) -> None:
    (tmp_path / "kvcore").mkdir()
    kvcore = HttpKvcore(supervisor, tmp_path / "kvcore")
    nodes.adopt(kvcore)
    kvcore.start()
    etcd = nodes.start("etcd")
    got = _story(f"http://{HOST}:{kvcore.http_port}")
    want = _story(f"http://{etcd.endpoint}")
    assert got == want
