"""YCSB workloads A-F on kvcore's storage engines: directly and through a kvcore node.

    cd /work/main && python -m bench.engines             # default run, ~3 min
    python -m bench.engines --large --data-dir /var/tmp  # 5M x 1 KiB, lmdb and rocksdb

Writes bench/results/engines-<timestamp>.md, .json and -*.png, and prints the paths.
"""

import argparse
import multiprocessing
import os
import platform
import queue
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from bench import targets
from bench.engines import charts, e2e, report
from bench.engines.direct import Measured, Plan, child
from bench.engines.ycsb import MIN_KEY_BYTES, WORKLOADS, Spec
from kvcore.registry import Registry

DEFAULTS = dict(engines="memory,lmdb,rocksdb", records=100_000, value_size=1000,
                ops=20_000, seconds=8.0, e2e=True)
LARGE = dict(engines="lmdb,rocksdb", records=5_000_000, value_size=1024,
             ops=100_000, seconds=30.0, e2e=False)


def _csv(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.engines",
                                description=__doc__.splitlines()[0])
    p.add_argument("--large", action="store_true",
                   help="the large scenario: " + ", ".join(f"{k}={v}" for k, v in LARGE.items())
                        + " (flags given too still win)")
    p.add_argument("--engines", help=f"comma-separated (default {DEFAULTS['engines']})")
    p.add_argument("--workloads", type=_csv, default=list(WORKLOADS),
                   help="comma-separated, from: "
                        + "; ".join(f"{w.name} ({w.describe})" for w in WORKLOADS.values())
                        .replace("%", "%%"))  # argparse formats help with %
    p.add_argument("--records", type=int, help=f"records loaded (default {DEFAULTS['records']:,})")
    p.add_argument("--key-size", type=int, default=24, help=f"key bytes, >= {MIN_KEY_BYTES}")
    p.add_argument("--value-size", type=int, help=f"value bytes (default {DEFAULTS['value_size']})")
    p.add_argument("--distribution", choices=("zipfian", "uniform"), default="zipfian",
                   help="key choice; zipfian is YCSB's scrambled zipfian, theta 0.99 "
                        "(D always favours the latest keys)")
    p.add_argument("--ops", type=int,
                   help=f"direct: ops per workload (default {DEFAULTS['ops']:,})")
    p.add_argument("--seconds", type=float,
                   help=f"direct: at most this long per workload (default {DEFAULTS['seconds']})")
    p.add_argument("--load-batch", type=int, default=1000, help="direct: records per load txn")
    p.add_argument("--update-batch", type=int, default=1,
                   help="direct: updates and inserts per write txn (1: commit each)")
    p.add_argument("--e2e", action=argparse.BooleanOptionalAction, default=None,
                   help="also run each workload through a kvcore node over gRPC (default on)")
    p.add_argument("--e2e-records", type=int, default=2000, help="end to end: records loaded")
    p.add_argument("--e2e-seconds", type=float, default=2.0,
                   help="end to end: measured seconds per workload")
    p.add_argument("--e2e-warmup", type=float, default=0.5, help="end to end: warm-up seconds")
    p.add_argument("--inflight", type=int, default=16, help="end to end: requests in flight")
    p.add_argument("--channels", type=int, default=4, help="end to end: gRPC channels")
    p.add_argument("--seed", type=int, default=1, help="random seed of the key choosers")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where direct runs keep their data (a temp dir inside it, removed)")
    p.add_argument("--out", type=Path, default=targets.ROOT / "bench" / "results",
                   help="directory for engines-<timestamp>.md, .json and .png")
    args = p.parse_args(argv)
    for name, value in (LARGE if args.large else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.engines = _csv(args.engines)
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    installed = Registry().engines
    if set(args.engines) - set(installed):
        p.error(f"unknown engines: {', '.join(sorted(set(args.engines) - set(installed)))}; "
                f"installed: {', '.join(sorted(installed))}")
    if args.key_size < MIN_KEY_BYTES:
        p.error(f"--key-size must be at least {MIN_KEY_BYTES}")
    args.stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return args


def _spec(args: argparse.Namespace, records: int) -> Spec:
    return Spec(records, args.key_size, args.value_size, args.distribution, seed=args.seed)


def _direct(args: argparse.Namespace, engine: str, root: Path, bar: tqdm) -> list[Measured]:
    """One engine's direct run in a fresh spawned process; its rows."""
    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    plan = Plan(engine, _spec(args, args.records), tuple(args.workloads), args.ops,
                args.seconds, args.load_batch, args.update_batch, root / engine)
    proc = ctx.Process(target=child, args=(plan, messages), name=f"ycsb-{engine}")
    proc.start()
    try:
        while True:
            try:
                kind, body = messages.get(timeout=1.0)
            except queue.Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"exited with {proc.exitcode}") from None
                continue
            if kind == "tick":
                bar.set_postfix_str(body)
            elif kind == "phase":
                bar.update()
            else:
                return body
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _e2e(args: argparse.Namespace, pool: ProcessPoolExecutor, engine: str,
         bar: tqdm) -> list[Measured]:
    settings = e2e.Settings(_spec(args, args.e2e_records), args.inflight, args.channels,
                            args.e2e_warmup, args.e2e_seconds)
    with e2e.node(pool, engine, settings) as node:
        bar.set_postfix_str("load")
        rows = [node.load()]
        bar.update()
        for name in args.workloads:
            bar.set_postfix_str(name)
            rows.append(node.workload(name))
            bar.set_postfix_str(f"{rows[-1].result.rps:,.0f} ops/s")
            bar.update()
    return rows


def _run(args: argparse.Namespace) -> dict[str, list[Measured]]:
    runs: dict[str, list[Measured]] = {report.DIRECT: [], report.E2E: []}
    phases = 1 + len(args.workloads)
    total = len(args.engines) * phases * (2 if args.e2e else 1)
    with (tqdm(total=total, unit="phase") as bar,
          tempfile.TemporaryDirectory(prefix="kvbench-engines-", dir=args.data_dir) as root):
        for engine in args.engines:
            bar.set_description(f"direct {engine}")
            done = bar.n
            try:
                runs[report.DIRECT] += _direct(args, engine, Path(root), bar)
            except Exception as exc:  # one broken engine must not lose the others' rows
                tqdm.write(f"direct {engine}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            bar.update(done + phases - bar.n)
        if args.e2e:
            with e2e.client_pool() as pool:
                for engine in args.engines:
                    bar.set_description(f"e2e {engine}")
                    done = bar.n
                    try:
                        runs[report.E2E] += _e2e(args, pool, engine, bar)
                    except Exception as exc:
                        tqdm.write(f"e2e {engine}: failed: {type(exc).__name__}: {exc}",
                                   file=sys.stderr)
                    bar.update(done + phases - bar.n)
    return runs


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    runs = _run(args)
    if not any(runs.values()):
        sys.exit("nothing was measured")
    meta: dict[str, object] = {
        "command": " ".join(["python -m bench.engines", *(argv or sys.argv[1:])]),
        "started": args.stamp,
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cpus",
        "python": platform.python_version(),
        "direct": f"{args.records:,} records, key {args.key_size} B, value {args.value_size} B, "
                  f"{args.distribution}, up to {args.ops:,} ops or {args.seconds} s per "
                  f"workload, load {args.load_batch}/txn, updates {args.update_batch}/txn, "
                  "default engine options (sync on)",
        "e2e": (f"{args.e2e_records:,} records, {args.inflight} in flight over "
                f"{args.channels} channels, {args.e2e_seconds} s per workload after "
                f"{args.e2e_warmup} s warm-up" if args.e2e else "off"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"engines-{args.stamp}"
    pngs = charts.draw(runs, stem)
    md, js = report.write(runs, meta, stem, pngs)
    print(report.markdown(runs))
    print(f"wrote {md}, {js} and {', '.join(str(p) for p in pngs)}")


if __name__ == "__main__":
    main()
