"""Requests etcd refuses before they reach the store: empty keys, oversized requests."""

from __future__ import annotations

from support.requests import Scenario, delete, put, rng, txn

LIMIT_BYTES = 1_572_864  # etcd's default --max-request-bytes: 1.5 MiB
BIG = b"x" * (LIMIT_BYTES + 1024)
JUST_FITS = b"y" * (LIMIT_BYTES - 1024)
# Past the gRPC receive limit (the request limit + 512 KiB): refused in grpc-go's words.
BEYOND_RECEIVE_LIMIT = b"z" * (3 * 1024 * 1024)

SCENARIOS: list[Scenario] = [
    (
        "empty-key",
        [
            put("", "v"),
            rng(""),
            rng("", "z"),
            delete(""),
            delete("", "z"),
            txn(success=[put("", "v")]),
            put("k", "v"),
            rng("k"),
        ],
    ),
    (
        "request-too-large",
        [
            put("k", BIG),
            txn(success=[put("k", BIG)]),
            rng("k"),
            put("k", JUST_FITS),
            rng("k", keys_only=True),
            put("k", BEYOND_RECEIVE_LIMIT),
            txn(success=[put("k", BEYOND_RECEIVE_LIMIT)]),
            rng("k", keys_only=True),
        ],
    ),
]
