"""Drive one server's Maintenance service with the PyPI ``etcd3`` client; print what
it saw as JSON (member ids as "self" when they are the server's own).

Run as ``python etcd3_probe.py HOST:PORT`` in a process of its own (etcd3's generated
classes clash with kvcore's, and it needs the pure-Python protobuf).
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import etcd3


def main(endpoint: str) -> None:
    host, port = endpoint.rsplit(":", 1)
    client = etcd3.client(host=host, port=int(port), timeout=10)
    me = client.status().leader.id
    seen: list[Any] = []

    def alarms() -> list[Any]:
        return [
            ["self" if a.member_id == me else a.member_id, a.alarm_type]
            for a in client.list_alarms()
        ]

    seen.append(["create", [[a.member_id == me, a.alarm_type] for a in client.create_alarm(me)]])
    seen.append(["list", alarms()])
    try:
        client.put("k", "v")
        seen.append(["put", "ok"])
    except Exception as exc:  # etcd3 maps the gRPC status to its own exception types
        seen.append(["put", type(exc).__name__, str(exc)])
    seen.append(["disarm", [[a.member_id == me, a.alarm_type] for a in client.disarm_alarm(me)]])
    seen.append(["list-after", alarms()])
    client.put("k", "v")
    client.defragment()
    seen.append(["get", client.get("k")[0].decode()])
    snapshot = io.BytesIO()
    client.snapshot(snapshot)
    size = len(snapshot.getvalue())
    seen.append(["snapshot", size > 0 and size % 512 == 32])
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
