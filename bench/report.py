"""Result rows and their Markdown and JSON renderings."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.load import Result
from bench.workloads import WORKLOADS

BASELINES = ("etcd", "echo")  # the ratio columns: kvcore / each of these


@dataclass(frozen=True)
class Row:
    workload: str
    inflight: int
    target: str
    processes: int
    result: Result  # with --rounds: the round with the median requests/s
    rounds: tuple[float, ...] = ()  # with --rounds: every round's requests/s


def _baseline(target: str, base: str) -> str:
    """The baseline row a kvcore target compares with: kvcore-3 pairs with etcd-3."""
    return base + target.removeprefix("kvcore") if base == "etcd" else base


def _ratio(row: Row, by_cell: dict[tuple[str, int, str], Row], base: str) -> str:
    """kvcore's req/s over the baseline's. With rounds, the median of the rounds' own
    ratios: the two ran minutes apart at most within a round, while this shared
    machine's speed drifts between rounds (often by 20-40 %), so a round's pair is the
    fairer comparison than two medians picked from different rounds."""
    if not row.target.startswith("kvcore"):
        return ""
    other = by_cell.get((row.workload, row.inflight, _baseline(row.target, base)))
    if other is None or not other.result.rps:
        return ""
    if row.rounds and len(row.rounds) == len(other.rounds) and all(other.rounds):
        ratios = sorted(a / b for a, b in zip(row.rounds, other.rounds, strict=True))
        return f"{ratios[(len(ratios) - 1) // 2]:.2f}"
    return f"{row.result.rps / other.result.rps:.2f}"


def markdown(rows: list[Row]) -> str:
    by_cell = {(r.workload, r.inflight, r.target): r for r in rows}
    head = ["workload", "in-flight", "target", "req/s", "p50 ms", "p99 ms",
            "server CPU µs/req", "client CPU µs/req"]
    head += [f"kvcore/{b}" for b in BASELINES]
    by_round = any(r.rounds for r in rows)
    if by_round:
        head.append("req/s by round")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in sorted(rows, key=lambda r: (list(WORKLOADS).index(r.workload), r.inflight)):
        res = r.result
        cells = [r.workload, str(r.inflight), r.target, f"{res.rps:,.0f}",
                 f"{res.p50_ms:.2f}", f"{res.p99_ms:.2f}",
                 "" if res.server_us is None else f"{res.server_us:.0f}", f"{res.client_us:.0f}"]
        cells += [_ratio(r, by_cell, b) for b in BASELINES]
        if by_round:
            cells.append(" ".join(f"{x:,.0f}" for x in r.rounds))
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in rows if r.result.errors or r.result.stats.get("warmup_errors")]
    if failed:
        lines.append("")
    for r in failed:
        lines.append(f"- {r.target} {r.workload} x{r.inflight}: {r.result.errors} errors, "
                     f"{r.result.stats.get('warmup_errors', 0)} in warm-up")
    return "\n".join(lines) + "\n"


def write(rows: list[Row], meta: dict[str, object], stem: Path) -> tuple[Path, Path]:
    """Write <stem>.md and <stem>.json; return both paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    md, js = stem.with_suffix(".md"), stem.with_suffix(".json")
    settings = "\n".join(f"- {k}: {v}" for k, v in meta.items())
    md.write_text(f"# kvcore bench {stem.name}\n\n{settings}\n\n{markdown(rows)}")
    js.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=1))
    return md, js
