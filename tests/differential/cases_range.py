"""Range: single keys, prefixes, [key, range_end), from-key, history, sort, limit, filters."""

from __future__ import annotations

from support.requests import FROM_KEY, Scenario, delete, prefix, put, rng

SORT_TARGETS = ("KEY", "VERSION", "CREATE", "MOD", "VALUE")
SORT_ORDERS = ("NONE", "ASCEND", "DESCEND")

# Five keys whose key, version, create, mod and value orders all disagree.
# Revisions: e@2 a@3 d@4 c@5 b@6 a@7 c@8 a@9 foo@10 fop@11
SEED = [
    put("e", "1"),
    put("a", "5"),
    put("d", "2"),
    put("c", "4"),
    put("b", "3"),
    put("a", "0"),
    put("c", "9"),
    put("a", "7"),
    put("foo", "x"),
    put("fop", "y"),
]

BASIC: list[Scenario] = [
    ("get-single", [put("k", "v"), rng("k"), put("k", "w"), rng("k")]),
    ("get-missing", [rng("nope"), put("k", "v"), rng("nope"), rng("j")]),
    ("get-binary-key", [put(b"\x00\xff", b"\x01"), rng(b"\x00\xff"), prefix(b"\x00")]),
    ("prefix", [*SEED, put("fo", "z"), prefix("fo"), prefix("foo"), prefix("x")]),
    ("prefix-all-bytes", [put(b"\xff\xff", "1"), put(b"\xff", "2"), prefix(b"\xff")]),
    ("interval", [*SEED, rng("b", "d"), rng("a", "b"), rng("b", "b"), rng("d", "b")]),
    ("from-key", [*SEED, rng("c", FROM_KEY), rng(FROM_KEY, FROM_KEY), rng("zz", FROM_KEY)]),
    ("serializable", [*SEED, rng("a", serializable=True), prefix("f", serializable=True)]),
]

HISTORY: list[Scenario] = [
    (
        "historical-reads",
        [
            *SEED,
            delete("d"),
            *[rng("a", revision=rev) for rev in (1, 2, 3, 6, 7, 9, 10)],
            rng("d", revision=11),
            rng("d", revision=12),
            rng(FROM_KEY, FROM_KEY, revision=5),
            rng("a", revision=0),
            rng("a", revision=12),
        ],
    ),
    ("future-revision", [*SEED, rng("a", revision=12), rng("a", revision=1000)]),
    ("recreated-key", [put("k", "1"), delete("k"), put("k", "2"), rng("k"), rng("k", revision=2)]),
]

SORTS: list[Scenario] = [
    (
        f"sort-by-{target.lower()}",
        [
            *SEED,
            *[rng("a", "z", sort_target=target, sort_order=o) for o in SORT_ORDERS],
            rng("a", "z", sort_target=target, sort_order="DESCEND", limit=2),
            rng("a", "z", sort_target=target, sort_order="ASCEND", limit=2),
        ],
    )
    for target in SORT_TARGETS
]

LIMITS: list[Scenario] = [
    (
        "limit-more-count",
        [
            *SEED,
            *[rng("a", "z", limit=n) for n in (0, 1, 2, 7, 8)],
            rng("a", "c", limit=2),
            prefix("f", limit=1),
            rng("a", "z", limit=3, revision=6),
        ],
    ),
    (
        "keys-only-count-only",
        [
            *SEED,
            rng("a", "z", keys_only=True),
            rng("a", "z", count_only=True),
            rng("a", "z", count_only=True, limit=2),
            rng("a", "z", keys_only=True, count_only=True),
            rng("a", keys_only=True),
            rng("nope", count_only=True),
        ],
    ),
]

FILTERS: list[Scenario] = [
    (
        f"filter-{name}",
        [*SEED, *[rng("a", "z", **{name: rev}) for rev in (1, 4, 6, 8, 11)]],
    )
    for name in (
        "min_mod_revision",
        "max_mod_revision",
        "min_create_revision",
        "max_create_revision",
    )
] + [
    (
        "filter-combined",
        [
            *SEED,
            rng("a", "z", min_mod_revision=4, max_mod_revision=8),
            rng("a", "z", min_create_revision=3, max_mod_revision=9, limit=1),
            rng("a", "z", min_mod_revision=5, count_only=True),
            rng("a", "z", max_create_revision=4, sort_target="VALUE", sort_order="ASCEND"),
        ],
    ),
]

# etcd 3.4 and 3.5 leave the keys unsorted for an order outside the enum (3.6 refuses).
ODD_SORTS: list[Scenario] = [
    (
        "sort-order-outside-the-enum",
        [
            *SEED,
            rng("a", "z", sort_order=3),
            rng("a", "z", sort_target="MOD", sort_order=-1, limit=2),
        ],
    ),
]

SCENARIOS: list[Scenario] = BASIC + HISTORY + SORTS + ODD_SORTS + LIMITS + FILTERS
