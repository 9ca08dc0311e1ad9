"""The engine benchmark's Markdown tables and JSON file."""

import json
from dataclasses import asdict
from pathlib import Path

from bench.engines.direct import Measured

MiB = 1 << 20
DIRECT, E2E = "direct", "e2e"


def _mib(n: int | None) -> str:
    return "" if n is None else f"{n / MiB:,.1f}"


def order(rows: list[Measured]) -> tuple[list[str], list[str]]:
    """Engines and phases in first-seen order."""
    engines = list(dict.fromkeys(r.engine for r in rows))
    return engines, list(dict.fromkeys(r.workload for r in rows))


def pivot(rows: list[Measured]) -> str:
    """ops/s: one line per phase, one column per engine."""
    engines, phases = order(rows)
    cell = {(r.engine, r.workload): r.result.rps for r in rows}
    lines = ["| phase | " + " | ".join(engines) + " |", "| --- |" + " ---: |" * len(engines)]
    for p in phases:
        values = [f"{cell[e, p]:,.0f}" if (e, p) in cell else "" for e in engines]
        lines.append(f"| {p} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def detail(rows: list[Measured], mode: str) -> str:
    """Every figure of every (engine, phase)."""
    direct = mode == DIRECT
    unit, scale = ("µs", 1000) if direct else ("ms", 1)
    cpu = "CPU µs/op" if direct else "server CPU µs/op"
    head = ["engine", "phase", "ops", "ops/s", f"p50 {unit}", f"p99 {unit}", cpu]
    head += (["Backend.size() MiB"] if direct else []) + ["du MiB", "peak RSS MiB"]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- |" + " ---: |" * (len(head) - 2)]
    for r in rows:
        res = r.result
        cpu_us = res.client_us if direct else res.server_us
        cells = [r.engine, r.workload, f"{res.requests:,}", f"{res.rps:,.0f}",
                 f"{res.p50_ms * scale:,.2f}", f"{res.p99_ms * scale:,.2f}",
                 "" if cpu_us is None else f"{cpu_us:,.0f}"]
        cells += ([_mib(r.engine_bytes)] if direct else []) + [_mib(r.du_bytes), _mib(r.peak_rss)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown(runs: dict[str, list[Measured]]) -> str:
    parts = []
    titles = {DIRECT: "Direct (Backend interface, one process per engine)",
              E2E: "End to end (kvcore node over gRPC)"}
    for mode, rows in runs.items():
        if rows:
            parts.append(f"## {titles[mode]}\n\nops/s\n\n{pivot(rows)}\n{detail(rows, mode)}")
    return "\n".join(parts)


def write(runs: dict[str, list[Measured]], meta: dict[str, object], stem: Path,
          charts: list[Path]) -> tuple[Path, Path]:
    """Write <stem>.md (embedding `charts`) and <stem>.json; return both paths."""
    md, js = stem.with_suffix(".md"), stem.with_suffix(".json")
    settings = "\n".join(f"- {k}: {v}" for k, v in meta.items())
    images = "\n".join(f"![{c.stem}]({c.name})" for c in charts)
    md.write_text(f"# kvcore engine bench {stem.name}\n\n{settings}\n\n{markdown(runs)}\n"
                  f"{images}\n")
    js.write_text(json.dumps({"meta": meta, **{m: [asdict(r) for r in rows]
                                                for m, rows in runs.items()}}, indent=1))
    return md, js
