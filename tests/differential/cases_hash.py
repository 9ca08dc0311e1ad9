"""HashKV: etcd's CRC-32C over the history, before and after compaction, by revision."""

from __future__ import annotations

from support.requests import Scenario, compact, delete, hash_kv, put, txn

# Revisions 2..7: a twice, b put then deleted, c, then a txn writing two keys.
HISTORY = [
    put("a", "1"),
    put("b", "1"),
    put("a", "2"),
    delete("b"),
    put("c", "3"),
    txn(success=[put("d", "4"), put("e", "5")]),
]

SCENARIOS: list[Scenario] = [
    ("hash-empty-store", [hash_kv(), hash_kv(1), hash_kv(2), hash_kv(-1)]),
    (
        "hash-by-revision",
        [*HISTORY, *(hash_kv(rev) for rev in range(8)), hash_kv(8)],
    ),
    (
        "hash-after-compaction",
        [
            *HISTORY,
            hash_kv(),
            compact(3),
            hash_kv(),
            hash_kv(3),
            hash_kv(4),
            hash_kv(5),
            hash_kv(-4),
            compact(5, physical=True),
            hash_kv(),
            hash_kv(6),
            put("a", "3"),
            hash_kv(),
        ],
    ),
    (
        "hash-after-everything-deleted",
        [
            *HISTORY,
            delete("\0", "\0"),
            compact(8, physical=True),
            hash_kv(),
            put("f", "6"),
            hash_kv(),
        ],
    ),
]
