"""Drive one TLS server with the PyPI ``etcd3`` client logged in as a user (etcd3 sends
its token only over TLS); print what it saw as JSON. Run as ``python
etcd3_auth_probe.py HOST:PORT USER PASSWORD CA CERT KEY`` in a process of its own (see
tests/integration/etcd3_probe.py for why)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import etcd3


def main(endpoint: str, user: str, password: str, ca: str, cert: str, key: str) -> None:
    host, port = endpoint.rsplit(":", 1)
    try:
        client = etcd3.client(
            host=host,
            port=int(port),
            timeout=10,
            user=user,
            password=password,
            ca_cert=ca,
            cert_cert=cert,
            cert_key=key,
        )
    except Exception as exc:  # a refused login fails the constructor
        print(json.dumps([["login", type(exc).__name__, str(exc)]]))
        return
    seen: list[Any] = []

    def attempt(what: str, call: Callable[[], Any]) -> None:
        try:
            result = call()
        except Exception as exc:
            seen.append([what, type(exc).__name__, str(exc)])
            return
        seen.append([what, "ok", _plain(result)])

    attempt("put-allowed", lambda: client.put("p/a", "1") and None)
    attempt("get-allowed", lambda: client.get("p/a")[0])
    attempt("get-prefix", lambda: [v for v, _ in client.get_prefix("p/")])
    attempt("put-denied", lambda: client.put("other", "1") and None)
    attempt("get-denied", lambda: client.get("other")[0])
    attempt("delete-denied", lambda: client.delete("other"))
    attempt(
        "txn-denied",
        lambda: client.transaction(
            compare=[client.transactions.value("other") == "1"],
            success=[client.transactions.put("p/b", "2")],
            failure=[],
        )[0],
    )
    client.close()
    print(json.dumps(seen))


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


if __name__ == "__main__":
    main(*sys.argv[1:])
