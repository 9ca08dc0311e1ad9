"""etcdctl put, get, del and compaction: the subject prints what etcd prints."""

from __future__ import annotations

import pytest

from .compare import Pair, Rev

pytestmark = pytest.mark.etcd

SORT_TARGETS = ("KEY", "VERSION", "CREATE", "MODIFY", "VALUE")


def _seed(pair: Pair, prefix: str) -> None:
    # Orders of key, version, create, modify and value all differ.
    for key, value in [("c", "1"), ("a", "3"), ("b", "2"), ("a", "0"), ("d", "9"), ("c", "5")]:
        pair.same("put", f"{prefix}{key}", value)


def test_put_and_get(pair: Pair) -> None:
    pair.script(
        ("put", "pg/k", "v1"),
        ("get", "pg/k"),
        ("put", "pg/k", "v2", "--prev-kv"),
        ("get", "pg/k", "-w", "json"),
        ("get", "pg/missing"),
        ("get", "pg/missing", "-w", "json"),
        ("put", "pg/spaces", "a value with spaces"),
        ("get", "pg/spaces", "--print-value-only"),
    )


def test_get_prefix_range_and_from_key(pair: Pair) -> None:
    _seed(pair, "gp/")
    pair.script(
        ("get", "gp/", "--prefix"),
        ("get", "gp/", "--prefix", "--keys-only"),
        ("get", "gp/a", "gp/c"),
        ("get", "gp/", "--prefix", "-w", "json"),
        ("get", "gp/", "--prefix", "--limit", "2", "-w", "json"),
        ("get", "gp/", "--prefix", "--count-only", "-w", "json"),
    )
    pair.same("put", "~from/a", "1")
    pair.same("put", "~from/b", "2")
    pair.same("get", "~from/b", "--from-key")
    pair.same("get", "~from/", "--from-key", "--keys-only")


def test_get_sorted(pair: Pair) -> None:
    _seed(pair, "sort/")
    for target in SORT_TARGETS:
        for order in ("ASCEND", "DESCEND"):
            pair.same("get", "sort/", "--prefix", "--sort-by", target, "--order", order)
        pair.same("get", "sort/", "--prefix", "--sort-by", target, "--limit", "2")
    pair.same("get", "sort/", "--prefix", "--order", "DESCEND", "--limit", "3")


def test_get_at_revision(pair: Pair) -> None:
    pair.script(
        ("put", "rev/k", "1"),
        ("put", "rev/k", "2"),
        ("del", "rev/k"),
        ("get", "rev/k", "--rev", Rev(1)),
        ("get", "rev/k", "--rev", Rev(2), "-w", "json"),
        ("get", "rev/k", "--rev", Rev(3)),
        ("get", "rev/k", "--rev", Rev(1000)),
    )


def test_del(pair: Pair) -> None:
    _seed(pair, "del/")
    pair.script(
        ("del", "del/a", "--prev-kv"),
        ("del", "del/a"),
        ("del", "del/b", "del/d"),
        ("put", "del/x/1", "1"),
        ("put", "del/x/2", "2"),
        ("del", "del/x/", "--prefix", "--prev-kv"),
        ("del", "del/", "--prefix", "-w", "json"),
        ("get", "del/", "--prefix", "--count-only", "-w", "json"),
    )


def test_compaction(fresh_pair: Pair) -> None:
    fresh_pair.script(
        *[("put", "k", str(i)) for i in range(5)],
        ("compaction", "4"),
        ("get", "k", "--rev", "3"),
        ("get", "k", "--rev", "4"),
        ("compaction", "4"),
        ("compaction", "100"),
        ("compaction", "5", "--physical"),
        ("get", "k", "-w", "json"),
    )
