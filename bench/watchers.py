"""Many watchers on one node while a writer keeps putting: kvcore beside real etcd.

    python -m bench.watchers --targets etcd,kvcore

For each scenario (what the watchers watch), each stream count and each target: open
the streams, create the watchers (timed until every "created" answer is in), then a
writer in its own process puts at a steady rate for --seconds while the watchers
receive. Each put's value starts with the monotonic time it was sent, so every event
received gives one delivery latency (put sent -> event read by the watcher). After the
last put the bench waits until every event owed has arrived (the drain).
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.pool
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc
from tqdm import tqdm

from bench import profile, targets
from bench.load import CHANNEL_OPTIONS, run
from bench.run import plan, run_meta
from kvcore.api.etcdserverpb import rpc_pb2

WATCH = "/etcdserverpb.Watch/Watch"
PUT = "/etcdserverpb.KV/Put"
ROOT_KEY = b"/bench/watch/"
CREATE_TIMEOUT = 300.0
PUT_TIMEOUT = 30.0
NS = 1_000_000_000


@dataclass(frozen=True)
class Scenario:
    describe: str
    fanout: bool  # every watcher sees every put (else each put reaches one watcher)

    def watch(self, i: int) -> tuple[bytes, bytes]:
        """Key and range_end of watcher ``i``."""
        if self is SCENARIOS["key"]:
            return ROOT_KEY + b"key/hot", b""
        if self is SCENARIOS["prefix"]:
            prefix = ROOT_KEY + b"prefix/"
            return prefix, prefix[:-1] + bytes([prefix[-1] + 1])
        return ROOT_KEY + b"distinct/%d" % i, b""

    def put_key(self, n: int, watchers: int) -> bytes:
        """The key of the writer's ``n``-th put."""
        if self is SCENARIOS["key"]:
            return ROOT_KEY + b"key/hot"
        if self is SCENARIOS["prefix"]:
            return ROOT_KEY + b"prefix/%d" % (n % 100)
        return ROOT_KEY + b"distinct/%d" % (n * 7919 % watchers)  # a stride over all keys


SCENARIOS = {
    "key": Scenario("all watchers on one key, the writer puts that key", fanout=True),
    "prefix": Scenario("all watchers on one prefix, the writer puts 100 keys under it", True),
    "distinct": Scenario("watcher i on key i, each put goes to one of them", fanout=False),
}


@dataclass(frozen=True)
class WriteJob:
    endpoint: str
    scenario: str
    watchers: int
    rate: float  # puts per second
    seconds: float
    value_size: int


@dataclass
class Writes:
    ok: int
    errors: int
    latencies: bytes  # array('q') of put round trips, ns
    first_sent_ns: int
    last_acked_ns: int


@dataclass(frozen=True)
class Cell:
    scenario: str
    streams: int
    watchers: int
    target: str
    create_s: float
    puts: int
    put_errors: int
    puts_per_s: float
    put_p50_ms: float
    put_p99_ms: float
    events_expected: int
    events: int
    events_per_s: float
    delivery_p50_ms: float
    delivery_p99_ms: float
    drain_s: float  # last put acknowledged -> last event read
    server_cpu_s: float | None  # during writes and drain
    server_us_per_event: float | None
    client_cpu_s: float


def _percentile(values: array, q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


# --- the writer (a spawned process, so its timings do not share a loop with the watchers)


def write(job: WriteJob) -> Writes:
    return run(_write(job))  # type: ignore[return-value]


async def _write(job: WriteJob) -> Writes:
    scenario = SCENARIOS[job.scenario]
    padding = b"v" * max(0, job.value_size - 8)
    latencies = array("q")
    errors = 0

    async with grpc.aio.insecure_channel(job.endpoint, options=CHANNEL_OPTIONS) as channel:
        put = channel.unary_unary(PUT)

        async def one(n: int) -> None:
            nonlocal errors
            sent = time.monotonic_ns()
            value = sent.to_bytes(8, "big") + padding
            request = rpc_pb2.PutRequest(key=scenario.put_key(n, job.watchers), value=value)
            try:
                await put(request.SerializeToString(), timeout=PUT_TIMEOUT)
            except grpc.aio.AioRpcError:
                errors += 1
                return
            latencies.append(time.monotonic_ns() - sent)

        count = max(1, round(job.rate * job.seconds))
        start = time.monotonic_ns()
        pending = []
        for n in range(count):  # open loop: a slow put does not delay the next
            delay = start + n * NS / job.rate - time.monotonic_ns()
            if delay > 0:
                await asyncio.sleep(delay / NS)
            pending.append(asyncio.create_task(one(n)))
        await asyncio.gather(*pending)
        return Writes(len(latencies), errors, latencies.tobytes(), start, time.monotonic_ns())


# --- the watchers ----------------------------------------------------------------------


class Watchers:
    """S streams over a few channels, N watchers spread over them, every response read."""

    def __init__(self, endpoint: str, scenario: Scenario, watchers: int, streams: int) -> None:
        self._scenario = scenario
        self._watchers = watchers
        self._channels = [
            grpc.aio.insecure_channel(endpoint, options=CHANNEL_OPTIONS)
            for _ in range(min(streams, 4))
        ]
        self._calls = [
            self._channels[s % len(self._channels)].stream_stream(WATCH)()
            for s in range(streams)
        ]
        self._readers: list[asyncio.Task] = []
        self.created = 0
        self.canceled = 0
        self.events = 0
        self.latencies = array("q")
        self.last_event_ns = 0
        self._changed = asyncio.Event()

    async def create(self) -> None:
        self._readers = [asyncio.create_task(self._read(call)) for call in self._calls]
        streams = len(self._calls)
        for i in range(self._watchers):
            key, end = self._scenario.watch(i)
            request = rpc_pb2.WatchRequest(
                create_request=rpc_pb2.WatchCreateRequest(key=key, range_end=end)
            )
            await self._calls[i % streams].write(request.SerializeToString())
        await self.until(lambda: self.created >= self._watchers, CREATE_TIMEOUT)

    async def _read(self, call: grpc.aio.StreamStreamCall) -> None:
        parse = rpc_pb2.WatchResponse.FromString
        latencies = self.latencies
        async for raw in call:
            response = parse(raw)
            if response.created:
                self.created += 1
            if response.canceled:
                self.canceled += 1
            if response.events:
                now = time.monotonic_ns()
                for event in response.events:
                    latencies.append(now - int.from_bytes(event.kv.value[:8], "big"))
                self.events += len(response.events)
                self.last_event_ns = now
            self._changed.set()

    async def until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``done()``, a stream ended, or ``timeout`` seconds passed."""
        deadline = time.monotonic() + timeout
        while not done():
            if self.canceled or any(r.done() for r in self._readers):
                raise RuntimeError(f"a watch stream ended: {self.canceled} canceled")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(1.0, deadline - time.monotonic())):
                    await self._changed.wait()
            if time.monotonic() >= deadline:
                return done()
        return True

    async def close(self) -> None:
        for call in self._calls:
            call.cancel()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        for channel in self._channels:
            await channel.close()


async def measure(args: argparse.Namespace, name: str, running: targets.Running,
                  scenario_name: str, streams: int, pool: multiprocessing.pool.Pool) -> Cell:
    scenario = SCENARIOS[scenario_name]
    endpoint = running.endpoints[0]
    rate = args.fanout_rate if scenario.fanout else args.rate
    watchers = Watchers(endpoint, scenario, args.watchers, streams)
    try:
        began = time.monotonic()
        await watchers.create()
        create_s = time.monotonic() - began
        cpu0, client0 = _server_cpu(running), time.process_time()
        job = WriteJob(endpoint, scenario_name, args.watchers, rate, args.seconds,
                       args.value_size)
        writes: Writes = await asyncio.get_running_loop().run_in_executor(
            None, pool.apply, write, (job,))
        expected = writes.ok * (args.watchers if scenario.fanout else 1)
        await watchers.until(lambda: watchers.events >= expected, args.drain_timeout)
        cpu1, client1 = _server_cpu(running), time.process_time()
    finally:
        await watchers.close()
    put_latencies = array("q")
    put_latencies.frombytes(writes.latencies)
    window = max(1, watchers.last_event_ns - writes.first_sent_ns) / NS
    server = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    return Cell(
        scenario_name, streams, args.watchers, name, create_s, writes.ok, writes.errors,
        writes.ok / max(1e-9, (writes.last_acked_ns - writes.first_sent_ns) / NS),
        _percentile(put_latencies, 0.5), _percentile(put_latencies, 0.99),
        expected, watchers.events, watchers.events / window,
        _percentile(watchers.latencies, 0.5), _percentile(watchers.latencies, 0.99),
        max(0, watchers.last_event_ns - writes.last_acked_ns) / NS,
        server, None if server is None else server * 1e6 / max(1, watchers.events),
        client1 - client0,
    )


def _server_cpu(running: targets.Running) -> float | None:
    return running.cpu_seconds() if running.pids else None


# --- the report ------------------------------------------------------------------------


def markdown(cells: list[Cell]) -> str:
    head = ["scenario", "streams", "target", "create s", "puts/s", "put p50 / p99 ms",
            "events/s", "delivery p50 / p99 ms", "drain s", "server CPU s",
            "server µs/event", "client CPU s", "events missing"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * 3 + " ---: |" * (len(head) - 3)]
    for c in cells:
        lines.append("| " + " | ".join([
            c.scenario, str(c.streams), c.target, f"{c.create_s:.2f}", f"{c.puts_per_s:,.0f}",
            f"{c.put_p50_ms:.1f} / {c.put_p99_ms:.1f}", f"{c.events_per_s:,.0f}",
            f"{c.delivery_p50_ms:.1f} / {c.delivery_p99_ms:.1f}", f"{c.drain_s:.2f}",
            "" if c.server_cpu_s is None else f"{c.server_cpu_s:.2f}",
            "" if c.server_us_per_event is None else f"{c.server_us_per_event:.1f}",
            f"{c.client_cpu_s:.2f}",
            f"{c.events_expected - c.events:,}",
        ]) + " |")
    errors = [c for c in cells if c.put_errors]
    lines += [f"- {c.target} {c.scenario} x{c.streams}: {c.put_errors} puts failed"
              for c in errors]
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.watchers",
                                description=__doc__.splitlines()[0])
    p.add_argument("--targets", type=lambda s: s.split(","), default=["etcd", "kvcore"],
                   help="servers to start: etcd,kvcore (default both)")
    p.add_argument("--kvcore-engine", default="memory", help="engine name for kvcore")
    p.add_argument("--scenarios", type=lambda s: s.split(","), default=list(SCENARIOS),
                   help="; ".join(f"{k}: {s.describe}" for k, s in SCENARIOS.items()))
    p.add_argument("--watchers", type=int, default=10_000, help="watchers per cell")
    p.add_argument("--streams", type=lambda s: [int(n) for n in s.split(",")],
                   default=[1, 100], help="Watch streams the watchers are spread over")
    p.add_argument("--seconds", type=float, default=5.0, help="seconds the writer puts")
    p.add_argument("--rate", type=float, default=200.0,
                   help="puts/s when each put reaches one watcher (distinct)")
    p.add_argument("--fanout-rate", type=float, default=1.0,
                   help="puts/s when every watcher sees every put (key, prefix)")
    p.add_argument("--value-size", type=int, default=128, help="bytes per value (>= 8)")
    p.add_argument("--drain-timeout", type=float, default=120.0,
                   help="seconds to wait for the events after the last put")
    p.add_argument("--py-spy", type=Path, default=None, metavar="DIR",
                   help="record a py-spy flame graph of kvcore for the whole run into "
                        "DIR/watchers-<target>-<timestamp>.svg")
    p.add_argument("--out", type=Path, default=targets.ROOT / "bench" / "results")
    args = p.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    # bench.run's target table; its cluster and endpoint options stay off here
    args.cluster, args.endpoint = None, []
    args.stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return args


async def _main(args: argparse.Namespace, pool: multiprocessing.pool.Pool,
                up: dict[str, targets.Running], bar: tqdm) -> list[Cell]:
    cells = []
    for scenario in args.scenarios:
        for streams in args.streams:
            for name, running in up.items():  # interleaved, as bench.run's default
                bar.set_description(f"{name} {scenario} x{streams}")
                try:
                    cell = await measure(args, name, running, scenario, streams, pool)
                except Exception as exc:  # one broken cell must not lose the others
                    tqdm.write(f"{name} {scenario} x{streams}: {type(exc).__name__}: {exc}",
                               file=sys.stderr)
                else:
                    cells.append(cell)
                    bar.set_postfix_str(f"{cell.events_per_s:,.0f} events/s")
                bar.update()
    return cells


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    chosen = plan(args)
    total = len(chosen) * len(args.scenarios) * len(args.streams)
    spawn = multiprocessing.get_context("spawn")  # never fork a process holding grpc
    with (
        contextlib.ExitStack() as stack,
        spawn.Pool(1) as pool,
        tqdm(total=total, unit="cell") as bar,
    ):
        up = {}
        for name, start in chosen:
            bar.set_description(f"{name} starting")
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"kvwatch-{name}-"))
            up[name] = stack.enter_context(start(Path(tmp)))
            tqdm.write(f"{name}: pids {up[name].pids} on {up[name].endpoints[0]}",
                       file=sys.stderr)
            if args.py_spy and up[name].python:
                svg = args.py_spy / f"watchers-{name}-{args.stamp}.svg"
                stack.enter_context(profile.py_spy(up[name].pids[0], svg))
        cells = run(_main(args, pool, up, bar))
    meta = {
        **run_meta("bench.watchers", argv, args.stamp),
        "writer": f"{args.seconds} s at {args.rate} puts/s (distinct) or "
                  f"{args.fanout_rate} puts/s (key, prefix), {args.value_size} B values",
    }
    table = markdown(cells)  # type: ignore[arg-type]
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"watchers-{args.stamp}"
    settings = "\n".join(f"- {k}: {v}" for k, v in meta.items())
    stem.with_suffix(".md").write_text(f"# kvcore watch bench {args.stamp}\n\n{settings}\n\n"
                                       f"{table}")
    stem.with_suffix(".json").write_text(json.dumps(
        {"meta": meta, "cells": [asdict(c) for c in cells]}, indent=1))  # type: ignore[arg-type]
    print(f"wrote {stem}.md and {stem}.json")


if __name__ == "__main__":
    main()
