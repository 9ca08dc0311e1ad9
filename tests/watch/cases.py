"""Watch scenarios that etcd 3.4 and kvcore must answer alike, each on its own keys."""

from __future__ import annotations

from kvcore.api.etcdserverpb.rpc_pb2 import WatchCreateRequest

from .script import Cancel, Compact, Delete, Expect, Progress, Put, Step, Txn, Watch

NOPUT = WatchCreateRequest.NOPUT
NODELETE = WatchCreateRequest.NODELETE
BIG = b"x" * 900_000  # three of these make a response above etcd's 2 MiB send limit

SCENARIOS: list[tuple[str, list[Step]]] = [
    (
        "single-key",
        [
            Watch(b"sk/a"),
            Put(b"sk/a", b"1"),
            Put(b"sk/b"),
            Put(b"sk/a", b"2"),
            Delete(b"sk/a"),
            Expect(3),
        ],
    ),
    (
        "prefix-prev-kv",
        [
            Put(b"pk/a", b"0"),
            Watch(b"pk/", prefix=True, fields={"prev_kv": True}),
            Put(b"pk/a", b"1"),
            Put(b"pk/b", b"1"),
            Put(b"pkz"),
            Delete(b"pk/", prefix=True),
            Expect(3),
        ],
    ),
    (
        "from-key",
        [
            Watch(b"fk/m", fields={"range_end": b"\0"}),
            Put(b"fk/a"),
            Put(b"fk/z"),
            Put(b"fk/m"),
            Expect(2),
        ],
    ),
    (
        "history-replay",
        [
            Put(b"hr/a", b"1"),
            Put(b"hr/a", b"2"),
            Delete(b"hr/a"),
            Put(b"hr/b"),
            Put(b"other"),
            Watch(b"hr/", prefix=True, rel=2, fields={"prev_kv": True}),
            Expect(1),
            Put(b"hr/c"),
            Expect(1),
        ],
    ),
    (
        "filters",
        [
            Watch(b"fl/a", fields={"filters": [NOPUT]}),
            Watch(b"fl/a", fields={"filters": [NODELETE]}),
            Watch(b"fl/a", fields={"filters": [NOPUT, NODELETE]}),
            Put(b"fl/a"),
            Delete(b"fl/a"),
            Expect(2),
        ],
    ),
    (
        "watch-ids",
        [
            Watch(b"id/a", fields={"watch_id": 5}),
            Watch(b"id/b"),
            Watch(b"id/c", fields={"watch_id": 5}),
            Watch(b"id/d", fields={"watch_id": 1}),
            Watch(b"id/e"),
            Watch(b"id/f", fields={"watch_id": 2}),
            Put(b"id/a"),
            Put(b"id/d"),
            Expect(2),
        ],
    ),
    (
        "cancel",
        [
            Watch(b"cn/a"),
            Watch(b"cn/a"),
            Cancel(0),
            Expect(1),
            Cancel(0),
            Cancel(7),
            Put(b"cn/a"),
            Expect(1),
        ],
    ),
    (
        "empty-range",
        [
            Watch(b"er/z", fields={"range_end": b"er/a"}),
            Watch(b"er/a", fields={"range_end": b"er/a"}),
            Watch(b"er/a", fields={"range_end": b"er/b"}),
        ],
    ),
    (
        "txn-one-revision",
        [
            Put(b"tx/c"),
            Watch(b"tx/", prefix=True),
            Txn(puts=(b"tx/a", b"tx/b"), deletes=(b"tx/c",)),
            Expect(1),
        ],
    ),
    (
        "future-start",
        [
            Watch(b"fs/a", rel=3),
            Put(b"fs/a", b"1"),
            Put(b"fs/a", b"2"),
            Put(b"fs/a", b"3"),
            Expect(1),
        ],
    ),
    (
        "compacted-start",
        [
            Put(b"cp/a", b"1"),
            Put(b"cp/a", b"2"),
            Put(b"cp/a", b"3"),
            Compact(2),
            Watch(b"cp/a", rel=1),
            Expect(1),
            Watch(b"cp/a", rel=2),
            Expect(1),
        ],
    ),
    (
        "progress-request",
        [
            Watch(b"pr/a"),
            Put(b"pr/b"),
            Progress(),
            Expect(1),
        ],
    ),
    (
        "progress-request-without-watchers",
        [
            Progress(),
            Expect(1),
            Watch(b"pr/a"),
            Cancel(0),
            Expect(1),
            Progress(),
            Expect(1),
        ],
    ),
    (
        "fragment",
        [
            Put(b"fr/a", BIG),
            Put(b"fr/b", BIG),
            Put(b"fr/c", BIG),
            Watch(b"fr/", prefix=True, rel=1, fields={"fragment": True}),
            Expect(2),
            Watch(b"fr/", prefix=True, rel=1),
            Expect(1),
        ],
    ),
]
