"""YCSB core workloads A-F, their keys and values, and the per-run op chooser.

Keys are YCSB-like: `user` + 16 hex digits of a bijective scramble of the record
number (so inserts land all over the key space, as YCSB's hashed inserts do),
right-padded with `0` to the key size. Values are slices of one random pool, so they
do not compress (RocksDB's lz4 gains nothing it would not gain on real data).
"""

import os
import random
from dataclasses import dataclass

from bench.engines.zipf import MASK_64, ScrambledZipfian, SkewedLatest

READ, UPDATE, INSERT, SCAN, RMW = "read", "update", "insert", "scan", "rmw"
MIN_KEY_BYTES = 20
SCRAMBLE = 0x9E3779B97F4A7C15  # odd, so multiplying by it mod 2**64 is a bijection
POOL_BYTES = 1 << 20


@dataclass(frozen=True)
class Workload:
    name: str
    describe: str
    mix: tuple[tuple[str, float], ...]  # (op, proportion), proportions sum to 1
    latest: bool = False  # key choice favours recent inserts (D), whatever --distribution


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("A", "update heavy: 50% read, 50% update", ((READ, 0.5), (UPDATE, 0.5))),
        Workload("B", "read mostly: 95% read, 5% update", ((READ, 0.95), (UPDATE, 0.05))),
        Workload("C", "read only: 100% read", ((READ, 1.0),)),
        Workload("D", "read latest: 95% read, 5% insert, recent keys hottest",
                 ((READ, 0.95), (INSERT, 0.05)), latest=True),
        Workload("E", "short ranges: 95% scan of 1-100 keys, 5% insert",
                 ((SCAN, 0.95), (INSERT, 0.05))),
        Workload("F", "read-modify-write: 50% read, 50% read then update",
                 ((READ, 0.5), (RMW, 0.5))),
    )
}


@dataclass(frozen=True)
class Spec:
    """What one run stores and how it picks keys; shared by direct and end-to-end runs."""

    records: int
    key_bytes: int
    value_bytes: int
    distribution: str  # "zipfian" or "uniform"
    max_scan: int = 100
    seed: int = 1


class Keyspace:
    """Record number -> key, and record number -> value."""

    def __init__(self, spec: Spec) -> None:
        if spec.key_bytes < MIN_KEY_BYTES:
            raise ValueError(f"key size must be at least {MIN_KEY_BYTES} bytes")
        self.key_bytes, self.value_bytes = spec.key_bytes, spec.value_bytes
        self.pool = os.urandom(POOL_BYTES + spec.value_bytes)

    def key(self, n: int) -> bytes:
        return f"user{n * SCRAMBLE & MASK_64:016x}".encode().ljust(self.key_bytes, b"0")

    def value(self, n: int) -> bytes:
        at = n * 7919 % POOL_BYTES
        return self.pool[at : at + self.value_bytes]


class Chooser:
    """Draws each op of a workload and its record number, YCSB's CoreWorkload way.

    Inserts take new record numbers from a counter; `acked` counts records readers may
    pick (the loaded ones plus inserts that completed), like YCSB's acknowledged counter.
    """

    def __init__(self, workload: Workload, spec: Spec, ops: int, first_insert: int) -> None:
        self.rng = random.Random(spec.seed)
        self.ops = [op for op, _ in workload.mix]
        self.weights = [w for _, w in workload.mix]
        self.max_scan = spec.max_scan
        self.next_insert = self.acked = first_insert
        self.latest = SkewedLatest(first_insert, self.rng) if workload.latest else None
        # Room for the keys this run may insert, so the popular ones stay the same.
        inserts = int(ops * dict(workload.mix).get(INSERT, 0.0) * 2)
        self.zipf = (ScrambledZipfian(first_insert + inserts, self.rng)
                     if spec.distribution == "zipfian" else None)

    def op(self) -> str:
        return self.rng.choices(self.ops, self.weights)[0]

    def existing(self) -> int:
        """A record number that has been written."""
        if self.latest is not None:
            return self.latest.next(self.acked)
        if self.zipf is None:
            return self.rng.randrange(self.acked)
        while (n := self.zipf.next()) >= self.acked:
            pass
        return n

    def scan_length(self) -> int:
        return self.rng.randint(1, self.max_scan)

    def new(self) -> int:
        """A record number for an insert; call `ack` once it is written."""
        n = self.next_insert
        self.next_insert += 1
        return n

    def ack(self, inserted: int) -> None:
        self.acked += inserted
