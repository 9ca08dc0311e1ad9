"""YCSB straight on a Backend, in a child process of its own per engine.

One process per engine makes its peak RSS (getrusage maxrss) that engine's alone.
The child loads the records in batched write transactions, then runs each workload
on the same data (inserts of D and E stay), timing every op, and reports progress and
results through a queue.

Ops: a read is a read txn + get; an update puts into the pending batch, which one
write txn commits once it holds `update_batch` writes (the op that fills the batch
carries the commit in its latency); an insert is an update of a new key; a scan is a
read txn + range with a limit; read-modify-write is a read followed by an update.
"""

import contextlib
import dataclasses
import os
import resource
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.engines.ycsb import INSERT, READ, RMW, SCAN, WORKLOADS, Chooser, Keyspace, Spec
from bench.load import Outcome, Result, merge
from kvcore import schema
from kvcore.backend import Backend
from kvcore.registry import Registry

BUCKET = schema.KEY
TICK_NS = 500_000_000  # progress report interval


@dataclass(frozen=True)
class Plan:
    """What the child runs: one engine, every chosen workload."""

    engine: str
    spec: Spec
    workloads: tuple[str, ...]
    ops: int  # per workload
    seconds: float  # cap per workload
    load_batch: int
    update_batch: int
    data_dir: Path


@dataclass(frozen=True)
class Measured:
    """One phase (load or a workload) on one engine."""

    engine: str
    workload: str
    result: Result
    engine_bytes: int | None  # Backend.size(); None end to end
    du_bytes: int
    peak_rss: int  # bytes, of the process that ran the engine


def du(path: Path) -> int:
    """Bytes allocated on disk under `path`, like `du -s --block-size=1`."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # an engine removed it meanwhile
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _Runner:
    def __init__(self, plan: Plan, backend: Backend, queue: Any) -> None:
        self.plan, self.backend, self.queue = plan, backend, queue
        self.keys = Keyspace(plan.spec)
        self.pending: list[tuple[bytes, bytes]] = []
        self.inserted = 0  # inserts in `pending`

    def _tick(self, text: str) -> None:
        self.queue.put(("tick", text))

    def _flush(self, chooser: Chooser | None) -> None:
        with self.backend.write() as txn:
            for key, value in self.pending:
                txn.put(BUCKET, key, value)
            txn.commit()
        self.pending.clear()
        if chooser is not None:
            chooser.ack(self.inserted)
        self.inserted = 0

    def _write(self, n: int, chooser: Chooser | None, insert: bool, batch: int) -> None:
        self.pending.append((self.keys.key(n), self.keys.value(n)))
        self.inserted += insert
        if len(self.pending) >= batch:
            self._flush(chooser)

    def _drain(self, lat: array, chooser: Chooser | None) -> None:
        """Commit what is left of the last batch, in the last op's latency."""
        if self.pending:
            t0 = time.perf_counter_ns()
            self._flush(chooser)
            lat[-1] += time.perf_counter_ns() - t0

    def _read(self, n: int) -> None:
        with self.backend.read() as txn:
            txn.get(BUCKET, self.keys.key(n))

    def _scan(self, n: int, length: int) -> None:
        with self.backend.read() as txn:
            for _ in txn.range(BUCKET, self.keys.key(n), None, length):
                pass

    def load(self) -> Result:
        """Write every record, `load_batch` per write txn, timing each put as an op."""
        clock, lat = time.perf_counter_ns, array("q")
        cpu0, first, tick = time.process_time(), clock(), clock() + TICK_NS
        records = self.plan.spec.records
        for n in range(records):
            t0 = clock()
            self._write(n, None, False, self.plan.load_batch)
            t1 = clock()
            lat.append(t1 - t0)
            if t1 > tick:
                tick = t1 + TICK_NS
                self._tick(f"load {n * 100 // records}%")
        self._drain(lat, None)
        stats = Counter(sent=len(lat))
        return merge([Outcome(lat.tobytes(), first, clock(), time.process_time() - cpu0, stats)],
                     None, None)

    def workload(self, name: str, first_insert: int) -> tuple[Result, int]:
        """Run one workload; return its result and the next free record number."""
        w = WORKLOADS[name]
        chooser = Chooser(w, self.plan.spec, self.plan.ops, first_insert)
        clock, lat, stats = time.perf_counter_ns, array("q"), Counter[str]()
        cpu0 = time.process_time()
        first = clock()
        stop, tick = first + int(self.plan.seconds * 1e9), first + TICK_NS
        for i in range(self.plan.ops):
            op = chooser.op()
            n = chooser.new() if op == INSERT else chooser.existing()
            length = chooser.scan_length() if op == SCAN else 0
            t0 = clock()
            if op == READ:
                self._read(n)
            elif op == SCAN:
                self._scan(n, length)
            else:
                if op == RMW:
                    self._read(n)
                self._write(n, chooser, op == INSERT, self.plan.update_batch)
            t1 = clock()
            lat.append(t1 - t0)
            stats[op] += 1
            if t1 > tick:
                tick = t1 + TICK_NS
                self._tick(f"{name} {i * 100 // self.plan.ops}%")
                if t1 > stop:
                    break
        self._drain(lat, chooser)
        last = clock()
        stats["sent"] = len(lat)
        outcome = Outcome(lat.tobytes(), first, last, time.process_time() - cpu0, stats)
        return merge([outcome], None, None), chooser.next_insert


def _measured(plan: Plan, backend: Backend, phase: str, result: Result) -> Measured:
    backend.sync()
    return Measured(plan.engine, phase, result, backend.size(), du(plan.data_dir), 0)


def child(plan: Plan, queue: Any) -> None:
    """Child process entry point: puts ("tick", text)s, then ("done", [Measured])."""
    engine = Registry().engine(plan.engine)
    backend = engine.open(plan.data_dir, schema.ALL_BUCKETS, engine.options_model())
    runner = _Runner(plan, backend, queue)
    try:
        out = [_measured(plan, backend, "load", runner.load())]
        queue.put(("phase", "load"))
        next_record = plan.spec.records
        for name in plan.workloads:
            result, next_record = runner.workload(name, next_record)
            out.append(_measured(plan, backend, name, result))
            queue.put(("phase", name))
    finally:
        backend.close()
    # The peak of the whole run: every phase's row shows the same figure.
    top = peak_rss()
    queue.put(("done", [dataclasses.replace(m, peak_rss=top) for m in out]))
