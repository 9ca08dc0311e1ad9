"""YCSB end to end: a kvcore node per engine, driven over gRPC KV Put/Range.

The node is started as bench.run starts it (`bench.targets.kvcore`: free loopback
port, temp data dir, default engine options). The client is one spawned process
running `inflight` slots through `bench.load`'s timed slot loop; every slot draws
from one shared YCSB chooser. A read is a Range of one key, an update or insert a
Put, a scan a Range from the key to the end of the key space with a limit, and
read-modify-write a Range then a Put (timed together). Op choice and request
building happen inside the timed call: a few µs next to a ~1 ms round trip.
"""

import asyncio
import multiprocessing
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import load, targets
from bench.engines.direct import Measured, du
from bench.engines.ycsb import INSERT, RMW, SCAN, UPDATE, WORKLOADS, Chooser, Keyspace, Spec
from bench.load import Call, Outcome, Step
from bench.workloads import KV
from kvcore.api.etcdserverpb import rpc_pb2 as pb

TO_THE_END = b"\0"  # etcd's range_end for "every key from key on"
LOAD = "load"
OPS_BOUND = 2_000  # ops/s above what one node does here: sizes the insert headroom


@dataclass(frozen=True)
class ClientJob:
    endpoint: str
    workload: str  # a YCSB workload name, or LOAD
    spec: Spec
    first_insert: int
    ops: int  # of the workload, sizing YCSB's insert headroom
    inflight: int
    channels: int
    timing: load.Job  # only its measure_at, stop_at and count are used


def _put(keys: Keyspace, n: int) -> bytes:
    return pb.PutRequest(key=keys.key(n), value=keys.value(n)).SerializeToString()


def _ycsb_step(chooser: Chooser, keys: Keyspace, put: Call, get: Call,
               stats: Counter[str]) -> Step:
    async def step() -> None:
        op = chooser.op()
        stats[op] += 1
        if op == INSERT:
            await put(_put(keys, chooser.new()))
            chooser.ack(1)
            return
        n = chooser.existing()
        if op == UPDATE:
            await put(_put(keys, n))
        elif op == SCAN:
            await get(pb.RangeRequest(key=keys.key(n), range_end=TO_THE_END,
                                      limit=chooser.scan_length()).SerializeToString())
        else:
            await get(pb.RangeRequest(key=keys.key(n)).SerializeToString())
            if op == RMW:
                await put(_put(keys, n))

    return step


def _load_step(keys: Keyspace, put: Call, slot: int, slots: int, records: int) -> Step:
    """Slot `slot` writes records slot, slot + slots, ... (wrapping past the end)."""
    numbers = iter(range(slot, 1 << 62, slots))

    async def step() -> None:
        await put(_put(keys, next(numbers) % records))

    return step


async def _work(job: ClientJob) -> Outcome:
    cpu0 = time.process_time()
    channels = load.open_channels((job.endpoint,), min(job.channels, job.inflight))
    puts = [load.raw(c, KV + "Put") for c in channels]
    gets = [load.raw(c, KV + "Range") for c in channels]
    keys, stats, lat = Keyspace(job.spec), Counter[str](), list[int]()
    if job.workload == LOAD:
        steps = [_load_step(keys, puts[i % len(puts)], i, job.inflight, job.spec.records)
                 for i in range(job.inflight)]
    else:
        chooser = Chooser(WORKLOADS[job.workload], job.spec, job.ops, job.first_insert)
        steps = [_ycsb_step(chooser, keys, puts[i % len(puts)], gets[i % len(gets)], stats)
                 for i in range(job.inflight)]
    try:
        spans = await asyncio.gather(*(load.slot(s, job.timing, lat, stats) for s in steps))
    finally:
        for c in channels:
            await c.close()
    return Outcome(array("q", lat).tobytes(), min(s[0] for s in spans),
                   max(s[1] for s in spans), time.process_time() - cpu0, stats)


def work(job: ClientJob) -> Outcome:
    """Client process entry point."""
    return load.run(_work(job))  # type: ignore[return-value]


def _vm_hwm(pid: int) -> int:
    """The peak resident set of a live process, in bytes (/proc VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


@contextmanager
def client_pool() -> Iterator[ProcessPoolExecutor]:
    """One spawned client process (never fork a process holding grpc), started now."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        pool.submit(time.sleep, 0.1).result()
        yield pool


@dataclass(frozen=True)
class Settings:
    spec: Spec
    inflight: int
    channels: int
    warmup: float
    seconds: float  # measured per workload


class Node:
    """A running kvcore node with one engine, and the YCSB phases run against it."""

    def __init__(self, pool: ProcessPoolExecutor, engine: str, settings: Settings,
                 running: targets.Running, data_dir: Path) -> None:
        self.pool, self.engine, self.settings = pool, engine, settings
        self.running, self.data_dir = running, data_dir
        self.next_record = settings.spec.records

    def _job(self, workload: str, measure_at: int, stop_at: int, count: int) -> ClientJob:
        s = self.settings
        ops = int((s.warmup + s.seconds) * OPS_BOUND)
        timing = load.Job(endpoints=(), workload=workload, first_slot=0, slots=s.inflight,
                          channels=s.channels, keys=0, measure_at=measure_at, stop_at=stop_at,
                          count=count)
        return ClientJob(self.running.endpoints[0], workload, s.spec, self.next_record, ops,
                         s.inflight, s.channels, timing)

    def _measured(self, workload: str, outcome: Outcome, seconds: float | None,
                  cpu_s: float) -> Measured:
        if outcome.stats.get("errors"):
            # A failing node would otherwise show as a fast one.
            raise RuntimeError(f"{outcome.stats['errors']} requests failed")
        self.next_record += outcome.stats.get(INSERT, 0)
        result = load.merge([outcome], seconds, cpu_s)
        pid = self.running.pids[0]
        return Measured(self.engine, workload, result, None, du(self.data_dir), _vm_hwm(pid))

    def load(self) -> Measured:
        """Put every record, `inflight` at a time; wait for the node first."""
        self.pool.submit(load.seed, tuple(self.running.endpoints), 1, 30.0).result(60)
        s = self.settings
        count = -(-s.spec.records // s.inflight)
        cpu0 = self.running.cpu_seconds()
        job = self._job(LOAD, time.perf_counter_ns(), 0, count)
        outcome = self.pool.submit(work, job).result()
        return self._measured(LOAD, outcome, None, self.running.cpu_seconds() - cpu0)

    def workload(self, name: str) -> Measured:
        s = self.settings
        measure_at = time.perf_counter_ns() + load.START_SLACK_NS + int(s.warmup * 1e9)
        stop_at = measure_at + int(s.seconds * 1e9)
        future = self.pool.submit(work, self._job(name, measure_at, stop_at, 0))
        load.sleep_until(measure_at)
        cpu0 = self.running.cpu_seconds()
        load.sleep_until(stop_at)
        cpu_s = self.running.cpu_seconds() - cpu0
        return self._measured(name, future.result(s.warmup + s.seconds + 60), s.seconds, cpu_s)


@contextmanager
def node(pool: ProcessPoolExecutor, engine: str, settings: Settings) -> Iterator[Node]:
    """Start a kvcore node with `engine` in a temp dir; stop it and remove the dir after."""
    with (tempfile.TemporaryDirectory(prefix=f"kvbench-ycsb-{engine}-") as tmp,
          targets.kvcore(Path(tmp), engine) as running):
        yield Node(pool, engine, settings, running, Path(tmp) / "m0")
