"""Drive one server with the PyPI ``etcd3`` client; print what it saw as JSON.

Run as ``python etcd3_probe.py HOST:PORT PREFIX`` in a process of its own (etcd3's
generated classes clash with kvcore's, and it needs the pure-Python protobuf).
Revisions are printed relative to the revision the probe started at.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import etcd3


def main(endpoint: str, prefix: str) -> None:
    host, port = endpoint.rsplit(":", 1)
    client = etcd3.client(host=host, port=int(port), timeout=10)
    start = client.get_response(prefix).header.revision
    seen: list[Any] = []

    def meta(found: tuple[bytes | None, Any]) -> Any:
        value, kv = found
        if kv is None:
            return [value]
        return [value.decode(), kv.create_revision - start, kv.mod_revision - start, kv.version]

    client.put(f"{prefix}a", "1")
    client.put(f"{prefix}b", "2")
    client.put(f"{prefix}a", "3")
    seen.append(["get", meta(client.get(f"{prefix}a"))])
    seen.append(["get-missing", meta(client.get(f"{prefix}zz"))])
    seen.append(["get_prefix", [meta(item) for item in client.get_prefix(prefix)]])
    seen.append(["replace-hit", client.replace(f"{prefix}a", "3", "4")])
    seen.append(["replace-miss", client.replace(f"{prefix}a", "3", "5")])
    seen.append(["delete", client.delete(f"{prefix}b")])
    seen.append(["delete-missing", client.delete(f"{prefix}b")])
    ok, responses = client.transaction(
        compare=[client.transactions.value(f"{prefix}a") == "4"],
        success=[
            client.transactions.put(f"{prefix}t", "yes"),
            client.transactions.get(f"{prefix}a"),
        ],
        failure=[client.transactions.put(f"{prefix}t", "no")],
    )
    seen.append(["transaction", ok, [meta(item) for item in responses[1]]])
    ok, _ = client.transaction(
        compare=[client.transactions.version(f"{prefix}a") > 5],
        success=[client.transactions.put(f"{prefix}t", "yes")],
        failure=[client.transactions.delete(f"{prefix}a")],
    )
    seen.append(["transaction-failure", ok])
    seen.append(["after", [meta(item) for item in client.get_prefix(prefix)]])
    seen.append(["put_if_not_exists", client.put_if_not_exists(f"{prefix}t", "again")])
    client.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:])
