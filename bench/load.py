"""The load generator: asyncio gRPC clients in worker processes, results merged.

Each worker process opens a few channels, runs one coroutine per slot (request in
flight), warms up, then times every request that completes inside the shared
measuring window. perf_counter_ns is CLOCK_MONOTONIC on Linux, the same clock in
every process, so the parent hands workers absolute deadlines.
"""

import asyncio
import multiprocessing
import time
from array import array
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import grpc

from bench.workloads import WORKLOADS, Call, Step, put_request, range_request
from kvcore.api.etcdserverpb import rpc_pb2 as pb

START_SLACK_NS = 300_000_000  # time for workers to pick up a job and open channels
CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]  # one TCP connection each


@dataclass(frozen=True)
class Job:
    """One worker's share of a cell."""

    endpoints: tuple[str, ...]
    workload: str
    first_slot: int
    slots: int
    channels: int
    keys: int
    measure_at: int  # perf_counter_ns when measuring starts (warm-up before)
    stop_at: int  # perf_counter_ns when measuring ends; 0 in count mode
    count: int  # requests per slot in count mode; 0 in duration mode


@dataclass
class Outcome:
    """What one worker measured; merged across workers by `merge`."""

    latencies: bytes  # array('q') of nanoseconds
    first_ns: int
    last_ns: int
    cpu_s: float  # the worker's CPU time over the whole job, warm-up included
    stats: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Result:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    server_us: float | None  # server CPU per measured request, when its pids are known
    client_us: float  # client CPU per request sent
    stats: dict[str, int]


def run(coro: object) -> object:
    """Run a coroutine on uvloop when installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type]


def open_channels(endpoints: tuple[str, ...], n: int) -> list[grpc.aio.Channel]:
    return [
        grpc.aio.insecure_channel(endpoints[i % len(endpoints)], options=CHANNEL_OPTIONS)
        for i in range(n)
    ]


def raw(channel: grpc.aio.Channel, method: str) -> Call:
    """A call that takes and returns bytes: no (de)serialization inside grpc."""
    return channel.unary_unary(method)  # type: ignore[return-value]


async def slot(step: Step, job: Job, lat: list[int], stats: Counter[str]) -> tuple[int, int]:
    """Drive one slot; return the (first start, last end) of its measured requests."""
    clock = time.perf_counter_ns
    sent = 0
    while clock() < job.measure_at:
        sent += 1
        try:
            await step()
        except grpc.aio.AioRpcError:
            stats["warmup_errors"] += 1
    first = t0 = clock()
    measured = 0
    while (t0 < job.stop_at) if job.stop_at else (measured < job.count):
        measured += 1
        try:
            await step()
        except grpc.aio.AioRpcError:
            stats["errors"] += 1
        else:
            t1 = clock()
            if not job.stop_at or t1 < job.stop_at:
                lat.append(t1 - t0)
        t0 = clock()
    stats["sent"] += sent + measured
    return first, t0


async def _work(job: Job) -> Outcome:
    cpu0 = time.process_time()
    workload = WORKLOADS[job.workload]
    channels = open_channels(job.endpoints, min(job.channels, job.slots))
    calls = [raw(c, workload.method) for c in channels]
    stats: Counter[str] = Counter()
    lat: list[int] = []
    try:
        steps = [
            workload.step(calls[i % len(calls)], job.first_slot + i, job.keys, stats)
            for i in range(job.slots)
        ]
        spans = await asyncio.gather(*(slot(s, job, lat, stats) for s in steps))
    finally:
        for c in channels:
            await c.close()
    return Outcome(
        latencies=array("q", lat).tobytes(),
        first_ns=min(s[0] for s in spans),
        last_ns=max(s[1] for s in spans),
        cpu_s=time.process_time() - cpu0,
        stats=stats,
    )


def work(job: Job) -> Outcome:
    """Worker process entry point."""
    return run(_work(job))  # type: ignore[return-value]


async def _seed(endpoints: tuple[str, ...], keys: int, timeout: float) -> None:
    """Write every key once and read one back, retrying until the target is ready."""
    (channel,) = open_channels(endpoints, 1)
    put, get = raw(channel, "/etcdserverpb.KV/Put"), raw(channel, "/etcdserverpb.KV/Range")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                await put(put_request(0), timeout=2, wait_for_ready=True)
                break
            except grpc.aio.AioRpcError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        sem = asyncio.Semaphore(32)

        async def one(i: int) -> None:
            async with sem:
                await put(put_request(i), timeout=10)

        await asyncio.gather(*(one(i) for i in range(keys)))
        await get(range_request(keys - 1, serializable=False), timeout=10)
    finally:
        await channel.close()


def seed(endpoints: tuple[str, ...], keys: int, timeout: float) -> None:
    """Worker entry point for `_seed`."""
    run(_seed(endpoints, keys, timeout))


async def _leader_first(endpoints: tuple[str, ...]) -> tuple[str, ...]:
    """The members' endpoints with the leader's first, as each member's Status says.
    Fewer channels than members (1 in flight: one) then reach the leader, for kvcore
    and etcd alike, rather than whichever member happened to be listed first."""
    if len(endpoints) < 2:
        return endpoints
    leaders: list[bool] = []
    for channel in open_channels(endpoints, len(endpoints)):
        try:
            status = pb.StatusResponse.FromString(
                await channel.unary_unary("/etcdserverpb.Maintenance/Status")(
                    pb.StatusRequest().SerializeToString(), timeout=5
                )
            )
            leaders.append(status.leader == status.header.member_id)
        finally:
            await channel.close()
    ranked = sorted(zip(leaders, endpoints, strict=True), key=lambda pair: not pair[0])
    return tuple(endpoint for _, endpoint in ranked)


def leader_first(endpoints: tuple[str, ...]) -> tuple[str, ...]:
    """Worker entry point for `_leader_first`."""
    return run(_leader_first(endpoints))


def merge(outcomes: list[Outcome], seconds: float | None, server_cpu_s: float | None) -> Result:
    """One result from the workers' outcomes; `seconds` None means count mode."""
    lat = array("q")
    stats: Counter[str] = Counter()
    for o in outcomes:
        lat.frombytes(o.latencies)
        stats.update(o.stats)
    ordered = sorted(lat)
    n = len(ordered)
    if seconds is None:
        seconds = (max(o.last_ns for o in outcomes) - min(o.first_ns for o in outcomes)) / 1e9

    def pct(q: float) -> float:
        return ordered[min(n - 1, int(q * n))] / 1e6 if n else float("nan")

    return Result(
        requests=n,
        errors=stats.pop("errors", 0),
        seconds=seconds,
        rps=n / seconds if seconds > 0 else 0.0,
        p50_ms=pct(0.50),
        p99_ms=pct(0.99),
        server_us=server_cpu_s / n * 1e6 if server_cpu_s is not None and n else None,
        client_us=sum(o.cpu_s for o in outcomes) / max(1, stats["sent"]) * 1e6,
        stats=dict(stats),
    )


def sleep_until(ns: int) -> None:
    time.sleep(max(0.0, (ns - time.perf_counter_ns()) / 1e9))


class Driver:
    """A pool of spawned worker processes that runs cells against endpoints.

    Each cell warms up for `warmup` seconds, then measures for `seconds`, or, when
    `count` > 0, until `count` requests have completed.
    """

    def __init__(
        self, processes: int, channels: int, keys: int, warmup: float, seconds: float, count: int
    ) -> None:
        self.processes, self.channels, self.keys = processes, channels, keys
        self.warmup, self.seconds, self.count = warmup, seconds, count
        ctx = multiprocessing.get_context("spawn")  # never fork a process holding grpc
        self.pool = ProcessPoolExecutor(max_workers=processes, mp_context=ctx)
        # Start every worker now, so no cell's warm-up is spent importing grpc.
        for f in [self.pool.submit(time.sleep, 0.5) for _ in range(processes)]:
            f.result()

    def __enter__(self) -> "Driver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(cancel_futures=True)

    def seed(self, endpoints: tuple[str, ...], timeout: float = 30.0) -> tuple[str, ...]:
        """Seed the keys; return the endpoints, the leader's first."""
        self.pool.submit(seed, endpoints, self.keys, timeout).result(timeout + 30)
        return self.pool.submit(leader_first, endpoints).result(timeout + 30)

    def cell(
        self,
        endpoints: tuple[str, ...],
        workload: str,
        inflight: int,
        processes: int,
        server_cpu: Callable[[], float] | None = None,
    ) -> Result:
        """Run one workload at one concurrency from `processes` client processes;
        `server_cpu` reads the server's CPU seconds so far."""
        processes = max(1, min(processes, self.processes, inflight))
        measure_at = time.perf_counter_ns() + START_SLACK_NS + int(self.warmup * 1e9)
        stop_at = 0 if self.count else measure_at + int(self.seconds * 1e9)
        shares = [inflight // processes + (p < inflight % processes) for p in range(processes)]
        starts = [sum(shares[:p]) for p in range(processes)]
        futures = [
            self.pool.submit(work, Job(
                endpoints=endpoints, workload=workload, first_slot=start, slots=share,
                channels=self.channels, keys=self.keys, measure_at=measure_at,
                stop_at=stop_at, count=-(-self.count // inflight),
            ))
            for start, share in zip(starts, shares, strict=True)
        ]
        sleep_until(measure_at)
        cpu = server_cpu or (lambda: 0.0)
        cpu0 = cpu()
        if stop_at:
            sleep_until(stop_at)
            cpu1 = cpu()
        limit = self.warmup + (600 if self.count else self.seconds) + 60
        outcomes = [f.result(limit) for f in futures]
        if not stop_at:
            cpu1 = cpu()
        seconds = None if self.count else self.seconds
        return merge(outcomes, seconds, cpu1 - cpu0 if server_cpu else None)
