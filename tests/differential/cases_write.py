"""Put and DeleteRange: prev_kv, ignore_value, ignore_lease, deleted counts, versions."""

from __future__ import annotations

from support.requests import FROM_KEY, Scenario, delete, prefix, prefix_end, put, rng

UNKNOWN_LEASE = 0x1234

KEYS = [put(k, f"v-{k}") for k in ("a", "b", "c", "p/1", "p/2", "p/3", "q")]

PUTS: list[Scenario] = [
    (
        "put-prev-kv",
        [put("k", "1", prev_kv=True), put("k", "2", prev_kv=True), put("k", "3"), rng("k")],
    ),
    (
        "put-versions",
        [put("k", "1"), put("k", "1"), put("j", "x"), put("k", ""), rng("a", "z")],
    ),
    (
        "put-ignore-value",
        [
            put("k", "1"),
            put("k", ignore_value=True, prev_kv=True),
            rng("k"),
            put("missing", ignore_value=True),
            put("k", "2", ignore_value=True),
            rng("k"),
        ],
    ),
    (
        "put-ignore-lease",
        [
            put("k", "1"),
            put("k", "2", ignore_lease=True, prev_kv=True),
            rng("k"),
            put("missing", "1", ignore_lease=True),
            put("k", "3", ignore_lease=True, lease=UNKNOWN_LEASE),
            put("k", ignore_value=True, ignore_lease=True),
        ],
    ),
    (
        "put-unknown-lease",
        [put("k", "1"), put("k", "2", lease=UNKNOWN_LEASE), rng("k"), put("n", lease=1)],
    ),
]

DELETES: list[Scenario] = [
    (
        "delete-single",
        [
            *KEYS,
            delete("a", prev_kv=True),
            delete("a", prev_kv=True),
            delete("b"),
            rng("a", "z"),
        ],
    ),
    (
        "delete-range",
        [*KEYS, delete("b", "p/2", prev_kv=True), rng(FROM_KEY, FROM_KEY), delete("x", "z")],
    ),
    (
        "delete-prefix",
        [*KEYS, delete("p/", prefix_end("p/"), prev_kv=True), prefix("p/"), rng("q")],
    ),
    ("delete-from-key", [*KEYS, delete("p/2", FROM_KEY), rng(FROM_KEY, FROM_KEY)]),
    ("delete-all", [*KEYS, delete(FROM_KEY, FROM_KEY), rng(FROM_KEY, FROM_KEY)]),
    (
        "delete-then-recreate",
        [
            put("k", "1"),
            put("k", "2"),
            delete("k", prev_kv=True),
            put("k", "3", prev_kv=True),
            rng("k"),
            rng("k", revision=3),
            rng("k", revision=4),
        ],
    ),
]

SCENARIOS: list[Scenario] = PUTS + DELETES
