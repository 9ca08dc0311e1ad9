"""PNG charts of an engine run: grouped bars, one group per phase, one bar per engine."""

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench.engines.direct import Measured
from bench.engines.report import DIRECT, E2E, MiB, order

TITLES = {DIRECT: "direct (Backend)", E2E: "end to end (gRPC)"}


def _bars(ax: plt.Axes, rows: list[Measured], value: Callable[[Measured], float],
          title: str, ylabel: str) -> None:
    engines, phases = order(rows)
    by = {(r.engine, r.workload): value(r) for r in rows}
    width = 0.8 / len(engines)
    for i, engine in enumerate(engines):
        xs = [p + (i - (len(engines) - 1) / 2) * width for p in range(len(phases))]
        ax.bar(xs, [by.get((engine, ph), 0.0) for ph in phases], width, label=engine)
    ax.set_xticks(range(len(phases)), phases)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")


def _figure(runs: dict[str, list[Measured]], value: Callable[[Measured, str], float],
            ylabel: Callable[[str], str], log: bool, path: Path) -> Path:
    modes = [m for m, rows in runs.items() if rows]
    fig, axes = plt.subplots(1, len(modes), figsize=(6 * len(modes), 4), squeeze=False)
    for ax, mode in zip(axes[0], modes, strict=True):
        _bars(ax, runs[mode], lambda r, m=mode: value(r, m), TITLES[mode], ylabel(mode))
        if log:
            ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _disk(runs: dict[str, list[Measured]], path: Path) -> Path:
    """Bytes after the last phase: Backend.size() and du (direct), du (end to end)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    series: dict[str, dict[str, int]] = {}
    for mode, rows in runs.items():
        for r in rows:  # later phases overwrite earlier ones: the last one stays
            if mode == DIRECT:
                series.setdefault("Backend.size() direct", {})[r.engine] = r.engine_bytes or 0
            series.setdefault(f"du {TITLES[mode]}", {})[r.engine] = r.du_bytes
    engines = list(dict.fromkeys(e for s in series.values() for e in s))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [e + (i - (len(series) - 1) / 2) * width for e in range(len(engines))]
        ax.bar(xs, [values.get(e, 0) / MiB for e in engines], width, label=name)
    ax.set_xticks(range(len(engines)), engines)
    ax.set_ylabel("MiB after the run")
    ax.set_title("bytes on disk (memory engine: bytes in memory)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def draw(runs: dict[str, list[Measured]], stem: Path) -> list[Path]:
    """Write <stem>-throughput.png, -p99.png and -disk.png; return their paths."""
    def p99(r: Measured, mode: str) -> float:
        return r.result.p99_ms * (1000 if mode == DIRECT else 1)

    return [
        _figure(runs, lambda r, m: r.result.rps, lambda m: "ops/s (log)", True,
                stem.with_name(stem.name + "-throughput.png")),
        _figure(runs, p99, lambda m: "p99 " + ("µs" if m == DIRECT else "ms") + " (log)", True,
                stem.with_name(stem.name + "-p99.png")),
        _disk(runs, stem.with_name(stem.name + "-disk.png")),
    ]
