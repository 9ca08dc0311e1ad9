"""Drive one server's Watch service with the PyPI ``etcd3`` client; print what it saw
as JSON, revisions relative to the one the probe started at.

Run as ``python etcd3_watch_probe.py HOST:PORT PREFIX`` in a process of its own (see
tests/integration/etcd3_probe.py for why).
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import etcd3

WAIT_SECONDS = 10


def main(endpoint: str, prefix: str) -> None:
    host, port = endpoint.rsplit(":", 1)
    client = etcd3.client(host=host, port=int(port), timeout=WAIT_SECONDS)
    start = client.get_response(prefix).header.revision

    def seen(event: Any) -> list[Any]:
        prev = getattr(event, "prev_value", None)
        return [
            type(event).__name__,
            event.key.decode(),
            event.value.decode(),
            event.mod_revision - start if event.mod_revision else 0,
            prev.decode() if prev else None,
        ]

    results: list[Any] = []
    callback_events: list[Any] = []
    called = threading.Event()

    def callback(response: Any) -> None:
        callback_events.extend(seen(ev) for ev in response.events)
        if len(callback_events) >= 2:
            called.set()

    key_events, cancel_key = client.watch(f"{prefix}a", prev_kv=True)
    prefix_events, cancel_prefix = client.watch_prefix(prefix)
    callback_id = client.add_watch_callback(f"{prefix}b", callback)

    client.put(f"{prefix}a", "1")
    client.put(f"{prefix}b", "2")
    client.put(f"{prefix}a", "3")
    client.delete(f"{prefix}b")
    client.delete(f"{prefix}a")

    results.append(["watch", [seen(next(key_events)) for _ in range(3)]])
    cancel_key()
    results.append(["watch_prefix", [seen(next(prefix_events)) for _ in range(5)]])
    cancel_prefix()
    results.append(["callback", called.wait(WAIT_SECONDS), callback_events])
    client.cancel_watch(callback_id)

    replay, cancel_replay = client.watch_prefix(prefix, start_revision=start + 2)
    results.append(["replay", [seen(next(replay)) for _ in range(4)]])
    cancel_replay()
    client.close()
    print(json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:])
