"""Drive one server's leases with the PyPI ``etcd3`` client; print what it saw as JSON.

Run as ``python etcd3_lease_probe.py HOST:PORT PREFIX`` in a process of its own (see
tests/integration/etcd3_probe.py for why).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import etcd3


def main(endpoint: str, prefix: str) -> None:
    host, port = endpoint.rsplit(":", 1)
    client = etcd3.client(host=host, port=int(port), timeout=10)
    seen: list[Any] = []
    lease = client.lease(60, lease_id=4242)
    seen.append(["grant", lease.id, lease.granted_ttl])
    client.put(f"{prefix}a", "1", lease=lease)
    client.put(f"{prefix}b", "2", lease=lease.id)
    seen.append(["keys", sorted(k.decode() for k in lease.keys)])
    seen.append(["remaining", 55 <= lease.remaining_ttl <= 60])
    seen.append(["refresh", [(r.ID, r.TTL) for r in lease.refresh()]])
    seen.append(["refresh-unknown", [(r.ID, r.TTL) for r in client.refresh_lease(777)]])
    info = client.get_lease_info(777)
    seen.append(["info-unknown", info.ID, info.TTL, info.grantedTTL])
    generated = client.lease(30)
    seen.append(["generated", generated.id > 0, generated.granted_ttl])
    generated.revoke()
    lease.revoke()
    seen.append(["after-revoke", [v.decode() for v, _ in client.get_prefix(prefix)]])
    try:
        client.revoke_lease(4242)
        seen.append(["revoke-again", "ok"])
    except Exception as exc:  # etcd3 wraps the gRPC error
        seen.append(["revoke-again", type(exc).__name__, str(exc.__cause__ or exc)[:200]])
    client.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
