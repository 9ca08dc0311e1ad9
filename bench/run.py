"""Compare kvcore, real etcd and a bare Python gRPC server in one run.

    cd /work/main && python -m bench.run --seconds 5

Each target is started on free loopback ports in a temp dir and seeded; every
workload at every in-flight count is then run on each target in turn (or, with
`--order sequential`, target after target), and every started process is stopped.
"""

import argparse
import contextlib
import dataclasses
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
from tqdm import tqdm

from bench import profile, report, targets
from bench.load import Driver, Result
from bench.workloads import WORKLOADS

Starter = Callable[[Path], contextlib.AbstractContextManager[targets.Running]]
MULTI_PROCESS_FROM = 64  # in-flight count from which the client uses --procs processes


def _csv(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--targets", type=_csv, default=None,
                   help="servers to start: etcd,echo,kvcore,kvcore-grpc (default etcd,echo; "
                        "none when --endpoint is given)")
    p.add_argument("--cluster", type=int, choices=(3,), default=None,
                   help="also start 3-member clusters: etcd-3 (and kvcore-3 with kvcore)")
    p.add_argument("--kvcore-engine", default="memory", help="engine name for kvcore")
    p.add_argument("--kvcore-client-transport", default="h2",
                   help="transport kvcore serves clients over: h2 (kvcore's own HTTP/2) or "
                        "grpc (grpc.aio); target kvcore-grpc is kvcore served by grpc, for "
                        "a comparison in one run")
    p.add_argument("--kvcore-peer-transport", default="tcp",
                   help="transport between the members of kvcore clusters: tcp or grpc "
                        "(grpc for a --kvcore-src checkout older than kvcore_tcp)")
    p.add_argument("--kvcore-src", action="append", default=[], metavar="NAME=DIR",
                   help="also start kvcore from another checkout DIR (e.g. `git archive` "
                        "of an older commit) as target NAME (and NAME-3 with --cluster), "
                        "to compare two versions in one interleaved run (repeatable)")
    p.add_argument("--endpoint", action="append", default=[], metavar="[NAME=]HOST:PORT",
                   help="drive an already running server (repeatable; comma-separate "
                        "the members of a cluster); NAME kvcore gets the ratio columns")
    p.add_argument("--workloads", type=_csv, default=list(WORKLOADS),
                   help="comma-separated, from: "
                        + "; ".join(f"{w.name} ({w.describe})" for w in WORKLOADS.values()))
    p.add_argument("--inflight", type=_csv, default=["1", "16", "256"],
                   help="comma-separated requests in flight")
    p.add_argument("--seconds", type=float, default=5.0, help="measured seconds per cell")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per cell")
    p.add_argument("--rounds", type=int, default=1,
                   help="run every cell this many times (interleaved: each round goes "
                        "through all cells) and report each target's median round")
    p.add_argument("--count", type=int, default=0,
                   help="measure this many requests per cell instead of --seconds")
    p.add_argument("--procs", type=int, default=2,
                   help=f"client processes from {MULTI_PROCESS_FROM} in flight (below: 1)")
    p.add_argument("--channels", type=int, default=4, help="gRPC channels per client process")
    p.add_argument("--keys", type=int, default=1000, help="keys written, read and updated")
    p.add_argument("--order", choices=("interleaved", "sequential"), default="interleaved",
                   help="interleaved: all targets up, each cell on each target in turn; "
                        "sequential: one target up at a time, all its cells")
    p.add_argument("--py-spy", type=Path, default=None, metavar="DIR",
                   help="record a py-spy flame graph of each Python server (echo, kvcore) "
                        "into DIR/<target>-<member>-<timestamp>.svg while it is under load")
    p.add_argument("--out", type=Path, default=targets.ROOT / "bench" / "results",
                   help="directory for <timestamp>.md and .json")
    args = p.parse_args(argv)
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    if args.targets is None:
        args.targets = [] if args.endpoint else ["etcd", "echo"]
    args.inflight = [int(n) for n in args.inflight]
    args.stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())  # names this run's files
    return args


def plan(args: argparse.Namespace) -> list[tuple[str, Starter]]:
    """The targets in run order, each with the context manager that runs it."""
    starters: dict[str, Starter] = {
        "etcd": lambda tmp: targets.etcd(tmp, 1),
        "echo": targets.echo,
        "kvcore": lambda tmp: targets.kvcore(
            tmp, args.kvcore_engine, client_transport=args.kvcore_client_transport),
        "kvcore-grpc": lambda tmp: targets.kvcore(tmp, args.kvcore_engine, client_transport="grpc"),
    }
    unknown = set(args.targets) - set(starters)
    if unknown:
        sys.exit(f"unknown targets: {', '.join(sorted(unknown))}")
    chosen = [(name, starters[name]) for name in args.targets]
    if args.cluster:
        n = args.cluster
        chosen.insert(1, (f"etcd-{n}", lambda tmp: targets.etcd(tmp, n)))
        if "kvcore" in args.targets:
            chosen.append((f"kvcore-{n}", lambda tmp: targets.kvcore(
                tmp, args.kvcore_engine, n, peer_transport=args.kvcore_peer_transport,
                client_transport=args.kvcore_client_transport)))
    for spec in args.kvcore_src:
        name, _, src = spec.partition("=")
        if not name or not src:
            sys.exit(f"--kvcore-src wants NAME=DIR, not {spec!r}")
        chosen.append((name, _other_kvcore(args, Path(src), 1)))
        if args.cluster:
            n = args.cluster
            chosen.append((f"{name}-{n}", _other_kvcore(args, Path(src), n)))
    for spec in args.endpoint:
        name, _, hosts = spec.rpartition("=")
        chosen.append((name or "endpoint", _external(_csv(hosts))))
    return chosen


def _other_kvcore(args: argparse.Namespace, src: Path, members: int) -> Starter:
    return lambda tmp: targets.kvcore(
        tmp, args.kvcore_engine, members, src.resolve(), args.kvcore_peer_transport,
        args.kvcore_client_transport)


def _external(endpoints: list[str]) -> Starter:
    @contextlib.contextmanager
    def running(tmp: Path) -> Iterator[targets.Running]:
        yield targets.Running(endpoints)

    return running


def _etcd_version() -> str:
    try:
        out = subprocess.run(["etcd", "--version"], capture_output=True, text=True, timeout=10)
    except OSError:
        return "not installed"
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


@contextlib.contextmanager
def _started(args: argparse.Namespace, driver: Driver, group: list[tuple[str, Starter]],
             bar: tqdm) -> Iterator[dict[str, targets.Running]]:
    """Start and seed each target of the group; yield those that came up, stop all after."""
    with contextlib.ExitStack() as stack:
        up: dict[str, targets.Running] = {}
        for name, start in group:
            bar.set_description(f"{name} starting")
            try:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"kvbench-{name}-"))
                running = stack.enter_context(start(Path(tmp)))
                ordered = driver.seed(tuple(running.endpoints))  # the leader's first
                running = dataclasses.replace(running, endpoints=list(ordered))
            except Exception as exc:  # a target that fails to start must not stop the run
                tqdm.write(f"{name}: skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
                bar.update(len(args.workloads) * len(args.inflight) * args.rounds)
                continue
            pids = running.pids or "-"
            tqdm.write(f"{name}: pids {pids} on {','.join(running.endpoints)}", file=sys.stderr)
            up[name] = running
            if args.py_spy and running.python:
                for i, pid in enumerate(running.pids):
                    svg = args.py_spy / f"{name}-{i}-{args.stamp}.svg"
                    stack.enter_context(profile.py_spy(pid, svg))
        yield up


def _drive(args: argparse.Namespace, driver: Driver, up: dict[str, targets.Running],
           bar: tqdm, rows: list[report.Row]) -> None:
    """Run every cell on every running target, cell by cell, ``args.rounds`` times;
    append a row per cell and target: the round with the median requests/s."""
    cells = [(w, n) for w in args.workloads for n in args.inflight]
    runs: dict[tuple[str, int, str], list[Result]] = {}
    for _ in range(args.rounds):
        for workload, inflight in cells:
            for name, running in list(up.items()):
                result = _cell(args, driver, name, running, workload, inflight, bar)
                if result is None:  # its remaining cells are skipped
                    done = sum(len(v) for k, v in runs.items() if k[2] == name)
                    bar.update(len(cells) * args.rounds - done)
                    del up[name]
                    continue
                runs.setdefault((workload, inflight, name), []).append(result)
                bar.set_postfix_str(f"{result.rps:,.0f} req/s")
                bar.update()
    for (workload, inflight, name), results in runs.items():
        procs = args.procs if inflight >= MULTI_PROCESS_FROM else 1
        ranked = sorted(results, key=lambda r: r.rps)
        rows.append(report.Row(workload, inflight, name, procs, ranked[(len(ranked) - 1) // 2],
                               tuple(r.rps for r in results) if args.rounds > 1 else ()))


def _cell(args: argparse.Namespace, driver: Driver, name: str, running: targets.Running,
          workload: str, inflight: int, bar: tqdm) -> Result | None:
    """One cell on one target; None if the target broke (it is then left out)."""
    bar.set_description(f"{name} {workload} x{inflight}")
    procs = args.procs if inflight >= MULTI_PROCESS_FROM else 1
    cpu = running.cpu_seconds if running.pids else None
    try:
        if running.exited():
            raise RuntimeError(f"exited: {', '.join(running.exited())}")
        result = driver.cell(tuple(running.endpoints), workload, inflight, procs, cpu)
        if running.exited():  # died during the cell: its row would be all errors
            raise RuntimeError(f"exited: {', '.join(running.exited())}")
    except Exception as exc:  # one broken target must not lose the others' rows
        tqdm.write(f"{name}: skipped the rest: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
    return result


def run_meta(module: str, argv: list[str] | None, stamp: str) -> dict[str, object]:
    """What a results file says about the run: the command, the machine and the
    versions of etcd, kvcore, Python and grpcio."""
    return {
        "command": " ".join([f"python -m {module}", *(argv or sys.argv[1:])]),
        "started": stamp,
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cpus",
        "etcd": _etcd_version(),
        "kvcore": f"HEAD {_kvcore_commit()} of {targets.ROOT}",
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
    }


def _kvcore_commit() -> str:
    """The checkout's HEAD (read only: the tree may hold uncommitted work too)."""
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=targets.ROOT,
                         capture_output=True, text=True, timeout=10)
    return out.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    chosen = plan(args)
    # Interleaved: all targets up at once, each cell run on each in turn, so the
    # machine's drift (other load) hits every target alike. Sequential: one at a time.
    groups = [chosen] if args.order == "interleaved" else [[t] for t in chosen]
    rows: list[report.Row] = []
    with (
        Driver(args.procs, args.channels, args.keys, args.warmup, args.seconds,
               args.count) as driver,
        tqdm(total=len(chosen) * len(args.workloads) * len(args.inflight) * args.rounds,
             unit="cell") as bar,
    ):
        for group in groups:
            with _started(args, driver, group, bar) as up:
                _drive(args, driver, up, bar, rows)
    meta: dict[str, object] = {
        **run_meta("bench.run", argv, args.stamp),
        "measured": f"{args.count} requests" if args.count else f"{args.seconds} s",
        "warmup": args.warmup,
        "order": args.order,
        "rounds": (f"{args.rounds} (each row: the median round; kvcore/etcd and kvcore/echo: "
                   "the median of the rounds' own ratios)") if args.rounds > 1 else 1,
        "client": f"{args.procs} processes from {MULTI_PROCESS_FROM} in flight, "
                  f"{args.channels} channels each, {args.keys} keys",
    }
    print(report.markdown(rows))
    md, js = report.write(rows, meta, args.out / args.stamp)
    print(f"wrote {md} and {js}")


if __name__ == "__main__":
    main()
