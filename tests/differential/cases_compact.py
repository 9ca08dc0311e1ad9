"""Compaction: reads below it fail, reads above the head fail, compacting twice fails."""

from __future__ import annotations

from support.requests import Scenario, compact, delete, put, rng, txn

# Revisions 2..9: k=v0..v5, then j, then k deleted.
HISTORY = [*[put("k", f"v{i}") for i in range(6)], put("j", "x"), delete("k")]

SCENARIOS: list[Scenario] = [
    (
        "compact-then-read",
        [
            *HISTORY,
            compact(5),
            rng("k", revision=4),
            rng("k", revision=5),
            rng("k", revision=6),
            rng("k"),
            rng("j", revision=9),
            rng("j", revision=10),
            rng("j", revision=0),
        ],
    ),
    (
        "compact-errors",
        [
            *HISTORY,
            compact(100),
            compact(10),
            compact(4),
            compact(4),
            compact(3),
            compact(9, physical=True),
            compact(9),
            rng("k", revision=8),
            rng("k", revision=9),
        ],
    ),
    (
        "compact-in-txn-read",
        [
            *HISTORY,
            compact(6),
            txn(success=[rng("k", revision=3)]),
            txn(success=[rng("k", revision=7)]),
            txn(success=[rng("k", revision=50)]),
            put("k", "after"),
            rng("k", "l", revision=6),
        ],
    ),
    ("compact-empty-store", [compact(1), compact(0), compact(2), put("a", "1"), compact(2)]),
]
