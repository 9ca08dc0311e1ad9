"""Request sequences for KVApplier, each answered by real etcd into ``golden/applier.json``.

Every scenario starts on an empty store (revision 1). ``record_applier_golden.py``
replays them on a fresh etcd each and stores its answers; ``test_applier_vs_etcd.py``
replays them on the applier and compares. Add a scenario here, then re-record.
"""

from __future__ import annotations

from support.requests import (
    FROM_KEY,
    Scenario,
    Step,
    cmp,
    compact,
    delete,
    prefix,
    put,
    rng,
    txn,
)

from kvcore.api.etcdserverpb import rpc_pb2 as pb

TARGETS = ("KEY", "VERSION", "CREATE", "MOD", "VALUE")
ORDERS = ("NONE", "ASCEND", "DESCEND")

# Keys whose key, version, create, mod and value orders all disagree, and ties.
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
    put("fop", "x"),
]

RANGE: list[Scenario] = [
    ("single-and-missing", [*SEED, rng("a"), rng("x"), rng("fo"), rng("a", revision=2)]),
    (
        "intervals",
        [
            *SEED,
            rng("b", "d"),
            rng("b", "b"),
            rng("d", "b"),
            prefix("fo"),
            rng("c", FROM_KEY),
            rng(FROM_KEY, FROM_KEY),
            rng("zz", FROM_KEY),
            rng(b"\x00", b"\x01"),
        ],
    ),
    (
        "limit-count-more",
        [
            *SEED,
            rng("a", "z", limit=2),
            rng("a", "z", limit=7),
            rng("a", "z", limit=8),
            rng("a", "z", limit=100),
            rng("a", "z", count_only=True),
            rng("a", "z", count_only=True, limit=1),
            rng("a", "z", keys_only=True, limit=3),
            rng("a", "z", keys_only=True, count_only=True),
            rng("x", "z", limit=1),
            rng("a", "z", limit=-1),
        ],
    ),
    *[
        (
            f"sort-{target.lower()}",
            [
                *SEED,
                *[rng("a", "z", sort_target=target, sort_order=o) for o in ORDERS],
                *[rng("a", "z", sort_target=target, sort_order=o, limit=2) for o in ORDERS],
                rng("a", "z", sort_target=target, sort_order="DESCEND", keys_only=True),
                rng("a", "z", sort_target=target, sort_order="ASCEND", count_only=True),
            ],
        )
        for target in TARGETS
    ],
    (
        "filters",
        [
            *SEED,
            rng("a", "z", min_mod_revision=7),
            rng("a", "z", max_mod_revision=7),
            rng("a", "z", min_create_revision=4, max_create_revision=6),
            rng("a", "z", min_mod_revision=7, limit=1),
            rng("a", "z", max_create_revision=5, limit=2),
            rng("a", "z", min_mod_revision=100),
            rng("a", "z", min_mod_revision=5, sort_target="VALUE", sort_order="DESCEND", limit=2),
        ],
    ),
    (
        "history",
        [
            *SEED,
            delete("d"),
            *[rng("a", revision=r) for r in (1, 2, 3, 6, 7, 9, 12)],
            rng("d", revision=11),
            rng("d", revision=12),
            rng("a", "z", revision=5),
            rng("a", "z", revision=5, count_only=True),
            rng("a", revision=13),
            rng("a", revision=1000),
        ],
    ),
    ("recreated", [put("k", "1"), delete("k"), put("k", "2"), rng("k"), rng("k", revision=2)]),
]

WRITE: list[Scenario] = [
    (
        "put-versions",
        [put("k", "1"), put("k", "2"), put("k", "2"), rng("k"), put("other", ""), rng("other")],
    ),
    (
        "put-prev-kv",
        [put("k", "1", prev_kv=True), put("k", "2", prev_kv=True), rng("k")],
    ),
    (
        "put-ignore",
        [
            put("k", ignore_value=True),
            put("k", ignore_lease=True),
            put("k", "1"),
            put("k", ignore_value=True, prev_kv=True),
            put("k", "2", ignore_lease=True),
            rng("k"),
            put("k", "x", ignore_value=True),
            put("k", lease=5, ignore_lease=True),
            put("k", "3", lease=12345),
            rng("k"),
        ],
    ),
    (
        "delete",
        [
            *SEED,
            delete("x"),
            delete("x", prev_kv=True),
            rng("a", count_only=True),
            delete("a", prev_kv=True),
            delete("b", "d", prev_kv=True),
            delete("fo", "fp"),
            delete("d", FROM_KEY, prev_kv=True),
            rng(FROM_KEY, FROM_KEY),
            delete("a"),
        ],
    ),
    (
        "empty-keys",
        [put("", "v"), rng(""), rng("", "z"), delete(""), txn(success=[put("", "v")])],
    ),
]

COMPACT: list[Scenario] = [
    (
        "compaction",
        [
            *SEED,
            delete("d"),
            compact(5),
            rng("a", revision=4),
            rng("a", revision=5),
            rng("d", revision=5),
            rng("a", "z", revision=5),
            compact(5),
            compact(4),
            compact(13),
            compact(12),
            rng("a", revision=11),
            rng("d", "z", revision=12),
            rng("a", "z"),
            put("a", "new"),
            rng("a", "z", revision=13),
        ],
    ),
    (
        "compact-deleted-everything",
        [put("a", "1"), delete("a"), compact(3), rng("a"), rng("a", revision=3), put("a", "2")],
    ),
    ("compact-empty", [compact(1), compact(2), rng("a")]),
    (
        "txn-range-compacted",
        [*SEED, compact(6), txn(success=[put("z", "1"), rng("a", revision=5)]), rng("z")],
    ),
]

TXN: list[Scenario] = [
    (
        "compare-missing-key",
        [
            put("x", "1"),
            *[
                txn([c], [rng("x")], [rng("x", count_only=True)])
                for c in (
                    cmp("m", "VALUE", "EQUAL", value=""),
                    cmp("m", "VALUE", "NOT_EQUAL", value="a"),
                    cmp("m", "VERSION", "EQUAL", version=0),
                    cmp("m", "CREATE", "LESS", create_revision=5),
                    cmp("m", "MOD", "GREATER", mod_revision=0),
                    cmp("m", "LEASE", "EQUAL", lease=0),
                    cmp("m", "VERSION", "EQUAL"),
                    cmp("m", "VALUE", "GREATER", FROM_KEY, value=""),
                )
            ],
        ],
    ),
    (
        "compare-targets",
        [
            *SEED,
            *[
                txn([c], [put("r", "yes")], [put("r", "no")])
                for c in (
                    cmp("a", "VALUE", "EQUAL", value="7"),
                    cmp("a", "VALUE", "LESS", value="8"),
                    cmp("a", "VALUE", "GREATER", value="69"),
                    cmp("a", "VERSION", "EQUAL", version=3),
                    cmp("a", "VERSION", "GREATER", version=3),
                    cmp("a", "CREATE", "EQUAL", create_revision=3),
                    cmp("a", "MOD", "LESS", mod_revision=9),
                    cmp("a", "MOD", "NOT_EQUAL", mod_revision=9),
                    cmp("a", "LEASE", "EQUAL", lease=0),
                    cmp("a", "VERSION", "EQUAL", mod_revision=3),
                    cmp("a", "VALUE", "EQUAL", version=3),
                )
            ],
            rng("r"),
        ],
    ),
    (
        "compare-ranges",
        [
            *SEED,
            *[
                txn([c])
                for c in (
                    cmp("a", "VERSION", "GREATER", "z", version=0),
                    cmp("a", "VERSION", "GREATER", "z", version=1),
                    cmp("a", "MOD", "LESS", "c", mod_revision=10),
                    cmp("a", "CREATE", "GREATER", FROM_KEY, create_revision=1),
                    cmp("g", "VERSION", "EQUAL", "h", version=0),
                    cmp("g", "VALUE", "EQUAL", "h", value=""),
                    cmp("a", "VALUE", "LESS", "c", value="8"),
                )
            ],
            txn([cmp("a", "VERSION", "EQUAL", version=3), cmp("b", "VERSION", "EQUAL", version=2)]),
            txn(),
        ],
    ),
    (
        "txn-one-revision",
        [
            put("k", "0"),
            txn(
                [cmp("k", "VALUE", "EQUAL", value="0")],
                [
                    put("a", "1"),
                    rng("a"),
                    put("b", "2", prev_kv=True),
                    delete("k", prev_kv=True),
                    rng(FROM_KEY, FROM_KEY),
                    rng("k", revision=2),
                ],
            ),
            rng(FROM_KEY, FROM_KEY),
            txn([], [rng("a"), rng("b", count_only=True)]),
            txn([], [delete("nothing")]),
            rng("a", count_only=True),
            txn([], [put("a", "3"), delete("a"), put("b", "4")]),
            rng(FROM_KEY, FROM_KEY),
        ],
    ),
    (
        "txn-future-and-checks",
        [
            put("k", "0"),
            txn([], [put("a", "1"), rng("a", revision=3)]),
            txn([], [put("a", "1"), rng("a", revision=2)]),
            txn([], [put("a", "1"), put("b", ignore_value=True)]),
            txn([], [put("b", "1", lease=77)]),
            txn([], [rng("a", revision=100)], [put("never", "1")]),
            rng(FROM_KEY, FROM_KEY),
        ],
    ),
    (
        "nested",
        [
            put("k", "0"),
            txn(
                [],
                [
                    put("x", "1"),
                    txn(
                        [cmp("x", "VERSION", "EQUAL", version=0)],
                        [put("seen-before", "1"), rng("x")],
                        [put("seen-after", "1")],
                    ),
                    txn([cmp("k", "VALUE", "EQUAL", value="nope")], [], [rng("k"), txn()]),
                    rng(FROM_KEY, FROM_KEY, keys_only=True),
                ],
            ),
            rng(FROM_KEY, FROM_KEY),
        ],
    ),
]

VALIDATE: list[Scenario] = [
    (
        "too-many-ops",
        [
            txn([], [put(f"k{i}", "v") for i in range(128)]),
            txn([], [put(f"j{i}", "v") for i in range(129)]),
            txn([cmp(f"k{i}", "VERSION", "EQUAL") for i in range(129)]),
            txn([], [], [rng("a")] * 129),
            txn([], [rng("a")] * 100 + [txn([], [rng("b")] * 28)]),
            txn([], [rng("a")] * 100 + [txn([], [rng("b")] * 29)]),
        ],
    ),
    (
        "duplicate-keys",
        [
            put("a", "0"),
            txn([], [put("a", "1"), put("a", "2")]),
            txn([], [put("a", "1"), delete("a")]),
            txn([], [delete("a", "c"), put("b", "1")]),
            txn([], [delete("a", "c"), delete("b", "d")]),
            txn([], [delete("a"), delete("a")]),
            txn([], [put("a", "1"), delete("b", "c")]),
            txn([], [put("z", "1"), delete("a", FROM_KEY)]),
            txn([], [put("a", "1")], [put("a", "2")]),
            txn([], [txn([], [put("n", "1")], [put("n", "2")]), put("m", "1")]),
            txn([], [txn([], [put("n", "1")]), put("n", "2")]),
            txn([], [txn([], [put("n", "1")]), txn([], [put("n", "2")])]),
            txn([], [txn([], [delete("n", "o")]), put("n", "2")]),
            txn([], [delete("n"), txn([], [put("n", "2")])]),
            txn([], [txn([], [], [put("n", "1")]), txn([], [put("n", "2")])]),
            txn([cmp("", "VERSION", "EQUAL")]),
            txn([], [put("", "1")]),
            txn([], [rng("")]),
            Step("Txn", pb.TxnRequest(success=[pb.RequestOp()])),
            Step("Txn", pb.TxnRequest(failure=[pb.RequestOp(request_txn=pb.TxnRequest())])),
            rng(FROM_KEY, FROM_KEY),
        ],
    ),
]

SCENARIOS: list[Scenario] = [*RANGE, *WRITE, *COMPACT, *TXN, *VALIDATE]
