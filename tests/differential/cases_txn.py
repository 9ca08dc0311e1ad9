"""Txn: every compare target against every result, ranges in compares, branches,
nesting, how revisions move, and the requests etcd refuses."""

from __future__ import annotations

from typing import Any

from support.requests import FROM_KEY, Scenario, Step, cmp, delete, prefix_end, put, rng, txn

TARGETS = ("VALUE", "VERSION", "CREATE", "MOD", "LEASE")
RESULTS = ("EQUAL", "NOT_EQUAL", "GREATER", "LESS")
MAX_TXN_OPS = 128

# k: created at 2, modified at 4, version 3, value "m", lease 0.
SETUP = [put("k", "a"), put("other", "x"), put("k", "b"), put("k", "m")]
# For each target: (below, actual, above) relative to k's state after SETUP.
PROBES: dict[str, tuple[dict[str, Any], ...]] = {
    "VALUE": ({"value": "b"}, {"value": "m"}, {"value": "z"}),
    "VERSION": ({"version": 2}, {"version": 3}, {"version": 4}),
    "CREATE": ({"create_revision": 1}, {"create_revision": 2}, {"create_revision": 3}),
    "MOD": ({"mod_revision": 3}, {"mod_revision": 4}, {"mod_revision": 5}),
    "LEASE": ({"lease": -1}, {"lease": 0}, {"lease": 1}),
}


def _probe(target: str, result: str, value: dict[str, Any], key: str) -> Step:
    """A txn that records, in "hit", which compare last succeeded."""
    return txn(
        [cmp(key, target, result, **value)],
        success=[put("hit", f"{target}-{result}", prev_kv=True)],
        failure=[rng(key)],
    )


COMPARES: list[Scenario] = [
    (
        f"compare-{target.lower()}",
        [
            *SETUP,
            *[
                _probe(target, result, value, key)
                for result in RESULTS
                for key in ("k", "gone")
                for value in PROBES[target]
            ],
        ],
    )
    for target in TARGETS
]

RANGE_COMPARES: list[Scenario] = [
    (
        "compare-over-range",
        [
            put("r/a", "1"),
            put("r/b", "2"),
            put("r/c", "3"),
            put("s", "9"),
            txn([cmp("r/", "VALUE", "GREATER", prefix_end("r/"), value="0")], [put("ok", "1")]),
            txn([cmp("r/", "VALUE", "GREATER", prefix_end("r/"), value="1")], [put("ok", "2")]),
            txn([cmp("r/", "VERSION", "EQUAL", prefix_end("r/"), version=1)], [put("ok", "3")]),
            txn([cmp("r/a", "MOD", "LESS", "r/c", mod_revision=4)], [put("ok", "4")]),
            txn([cmp("r/a", "MOD", "LESS", FROM_KEY, mod_revision=5)], [put("ok", "5")]),
            txn([cmp("x/", "VERSION", "EQUAL", prefix_end("x/"), version=0)], [put("ok", "6")]),
            txn([cmp("r/", "CREATE", "NOT_EQUAL", prefix_end("r/"), create_revision=3)]),
            rng("ok"),
        ],
    ),
    (
        "compare-several",
        [
            put("a", "1"),
            put("b", "2"),
            txn(
                [cmp("a", "VALUE", "EQUAL", value="1"), cmp("b", "VALUE", "EQUAL", value="2")],
                [put("both", "y")],
                [put("both", "n")],
            ),
            txn(
                [cmp("a", "VALUE", "EQUAL", value="1"), cmp("b", "VALUE", "EQUAL", value="3")],
                [put("both", "y")],
                [put("both", "n")],
            ),
            rng("both"),
        ],
    ),
]

BRANCHES: list[Scenario] = [
    (
        "branches-mixed-ops",
        [
            put("a", "1"),
            put("b", "2"),
            txn(
                [cmp("a", "VALUE", "EQUAL", value="1")],
                [put("c", "3", prev_kv=True), rng("a", "z"), delete("b", prev_kv=True)],
                [put("fail", "1")],
            ),
            txn(
                [cmp("a", "VALUE", "EQUAL", value="nope")],
                [put("c", "4")],
                [delete("a", "c", prev_kv=True), rng(FROM_KEY, FROM_KEY, count_only=True)],
            ),
            txn(),
            txn([cmp("c", "VERSION", "GREATER", version=0)]),
            rng(FROM_KEY, FROM_KEY),
        ],
    ),
    (
        "nested",
        [
            put("a", "1"),
            txn(
                [cmp("a", "VALUE", "EQUAL", value="1")],
                [
                    put("outer", "1"),
                    txn(
                        [cmp("outer", "VERSION", "EQUAL", version=0)],
                        [put("in", "s")],
                        [put("in", "f"), rng("outer")],
                    ),
                    rng("in"),
                ],
            ),
            txn(
                failure=[txn(failure=[put("never", "1")], success=[put("deep", "1")])],
                compare=[cmp("a", "VALUE", "EQUAL", value="x")],
            ),
            rng(FROM_KEY, FROM_KEY),
        ],
    ),
]

REVISIONS: list[Scenario] = [
    (
        "revision-bumps",
        [
            put("a", "1"),
            txn(success=[rng("a"), rng("b")]),
            txn([cmp("a", "VALUE", "EQUAL", value="1")], [rng("a")]),
            txn(success=[delete("missing")]),
            txn(success=[put("x", "1"), put("y", "2"), put("z", "3"), rng("x", "zz")]),
            txn(success=[put("x", "4"), delete("y", prev_kv=True), rng("x", "zz")]),
            txn(success=[delete("x", "zz")]),
            rng(FROM_KEY, FROM_KEY),
            put("after", "1"),
        ],
    ),
]

REFUSED: list[Scenario] = [
    (
        "duplicate-keys",
        [
            put("a", "1"),
            txn(success=[put("a", "1"), put("a", "2")]),
            txn(success=[put("b", "1"), delete("b")]),
            txn(success=[delete("a"), put("a", "2")]),
            txn(success=[put("b", "1"), delete("a", "c")]),
            txn(success=[delete("a", "c"), put("b", "1")]),
            txn(success=[delete("a", "c"), delete("b", "d")]),
            txn(success=[delete("a"), delete("a")]),
            txn(success=[put("a", "1"), rng("a")]),
            txn(success=[put("a", "1")], failure=[put("a", "2")]),
            txn(success=[put("n", "1"), txn(success=[put("n", "2")])]),
            txn(success=[txn(success=[put("n", "1")]), txn(success=[put("n", "2")])]),
            txn(success=[txn(success=[put("n", "1")], failure=[put("n", "2")])]),
            txn(success=[put("n", "1"), txn(failure=[put("n", "2")])]),
            txn(success=[delete("m", "p"), txn(success=[put("n", "2")])]),
            txn(success=[put("n", "1"), txn(success=[delete("m", "p")])]),
            rng(FROM_KEY, FROM_KEY),
        ],
    ),
    (
        "too-many-ops",
        [
            txn(success=[put(f"k{i}", "v") for i in range(MAX_TXN_OPS + 1)]),
            txn(failure=[rng(f"k{i}") for i in range(MAX_TXN_OPS + 1)]),
            txn([cmp(f"k{i}", "VERSION", "EQUAL", version=0) for i in range(MAX_TXN_OPS + 1)]),
            txn(success=[put(f"k{i}", "v") for i in range(MAX_TXN_OPS)]),
            rng("k", "l", count_only=True),
        ],
    ),
]

SCENARIOS: list[Scenario] = COMPARES + RANGE_COMPARES + BRANCHES + REVISIONS + REFUSED
