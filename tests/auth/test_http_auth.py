"""Auth through the JSON gateway, kvcore's HTTP listener against etcd 3.4's gateway:
/v3/auth/* manages users and roles, /v3/auth/authenticate gives the token that the
``Authorization`` header carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.gateway import HttpKvcore, b64, etcd_gateway_url, post
from support.normalize import json_without_ids
from support.process import Supervisor
from support.servers import NodeFactory

# The gateway only maps onto the services the gRPC tests cover: left to the full run.
pytestmark = [pytest.mark.etcd, pytest.mark.slow]


def _post(
    base: str, path: str, body: dict[str, Any], token: str | None, header: str = "Authorization"
) -> tuple[int, Any]:
    answer = post(base, path, body, {header: token} if token else None)
    return answer.status, answer.json()


def _story(base: str) -> list[Any]:
    seen: list[Any] = []
    tokens: dict[str, str] = {}

    def call(
        path: str, body: dict[str, Any], as_user: str | None = None, header: str = "Authorization"
    ) -> Any:
        status, answer = _post(base, path, body, tokens.get(as_user or ""), header)
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
            {"name": "r", "perm": {"key": b64("k"), "permType": "READWRITE"}},
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
    call("/v3/kv/put", {"key": b64("k"), "value": b64("v")})
    call("/v3/kv/put", {"key": b64("k"), "value": b64("v")}, "u")
    call("/v3/kv/range", {"key": b64("k")}, "u")
    call("/v3/kv/put", {"key": b64("other"), "value": b64("v")}, "u")
    call("/v3/kv/range", {"key": b64("other")}, "u")
    call("/v3/auth/user/list", {}, "u")
    call("/v3/auth/user/list", {}, "root")
    call("/v3/auth/role/get", {"role": "r"}, "root")
    call("/v3/auth/user/get", {"name": "u"}, "u")
    call("/v3/kv/range", {"key": b64("k")}, "root")
    # The token as gRPC metadata: "token", else "authorization", as etcd reads it.
    call("/v3/kv/range", {"key": b64("other")}, "u", "Grpc-Metadata-Token")
    call("/v3/kv/range", {"key": b64("k")}, "u", "Grpc-Metadata-Authorization")
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
    got = _story(kvcore.gateway_url)
    want = _story(etcd_gateway_url(etcd))
    assert got == want
