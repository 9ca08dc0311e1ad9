"""The PyPI etcd3gw client (it speaks only the JSON gateway) against kvcore and etcd.

Each scenario runs against both; what the client returns must be the same, errors too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import etcd3gw
import pytest
from etcd3gw import exceptions
from support.gateway import HttpKvcore

pytestmark = [pytest.mark.etcd, pytest.mark.kvcore]


def _client(url: str) -> etcd3gw.Etcd3Client:
    parts = urlsplit(url)
    return etcd3gw.client(host=parts.hostname, port=parts.port, timeout=10)


@pytest.fixture(scope="module")
def clients(kvcore_http: HttpKvcore, etcd_url: str) -> list[etcd3gw.Etcd3Client]:
    return [_client(kvcore_http.gateway_url), _client(etcd_url)]


def _outcome(scenario: Callable[[etcd3gw.Etcd3Client], Any], client: etcd3gw.Etcd3Client):
    try:
        return scenario(client)
    except exceptions.Etcd3Exception as exc:
        return type(exc).__name__, exc.detail_text


def same(clients: list[etcd3gw.Etcd3Client], scenario: Callable[[etcd3gw.Etcd3Client], Any]):
    ours, theirs = (_outcome(scenario, client) for client in clients)
    assert ours == theirs
    return ours


def test_discovers_the_v3_api(clients):
    assert [client.api_path for client in clients] == ["/v3/", "/v3/"]


def test_put_get(clients):
    assert same(clients, lambda c: c.put("gw/a", "1")) is True
    assert same(clients, lambda c: c.get("gw/a")) == [b"1"]
    same(clients, lambda c: c.get("gw/a", metadata=True))
    same(clients, lambda c: c.get("gw/missing"))
    same(clients, lambda c: [c.put(f"gw/p/{i}", str(i)) for i in range(5)])
    same(clients, lambda c: c.get_prefix("gw/p/", sort_order="descend", sort_target="key"))
    same(clients, lambda c: c.get("gw/p/", range_end="gw/p0", limit=2, keys_only=True))
    same(clients, lambda c: c.get_all(sort_order="ascend"))


def test_create_replace_delete(clients):
    assert same(clients, lambda c: c.create("gw/c", "first")) is True
    assert same(clients, lambda c: c.create("gw/c", "second")) is False
    assert same(clients, lambda c: c.replace("gw/c", "first", "third")) is True
    assert same(clients, lambda c: c.replace("gw/c", "first", "fourth")) is False
    assert same(clients, lambda c: c.get("gw/c")) == [b"third"]
    assert same(clients, lambda c: c.delete("gw/c")) is True
    assert same(clients, lambda c: c.delete("gw/c")) is False
    assert same(clients, lambda c: c.delete_prefix("gw/p/")) is True
    assert same(clients, lambda c: c.get_prefix("gw/p/")) == []


def test_transaction(clients):
    def txn(client: etcd3gw.Etcd3Client) -> dict:
        return client.transaction(
            {
                "compare": [
                    {"key": "Z3cvYQ==", "result": "EQUAL", "target": "VALUE", "value": "MQ=="}
                ],
                "success": [{"request_put": {"key": "Z3cvdA==", "value": "dA=="}}],
                "failure": [],
            }
        )

    result = same(clients, lambda c: _masked(txn(c)))
    assert result["succeeded"] is True


def test_errors_raise_alike(clients):
    kind, _ = same(clients, lambda c: c.get(""))
    assert kind == "Etcd3Exception"
    kind, _ = same(clients, lambda c: c.get("gw/a", revision=10_000))
    assert kind == "Etcd3Exception"


def test_status_and_members(clients):
    ours, theirs = (client.status() for client in clients)
    assert ours.keys() == theirs.keys()
    assert ours["leader"] == ours["header"]["member_id"]
    ours, theirs = (client.members() for client in clients)
    assert len(ours) == len(theirs) == 1
    assert ours[0].keys() == theirs[0].keys()


def _masked(response: dict) -> dict:
    """Without the header ids that differ between two clusters."""
    return {k: v for k, v in response.items() if k != "header"}
