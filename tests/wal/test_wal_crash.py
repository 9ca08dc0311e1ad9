"""Durability: a writer killed with SIGKILL at random moments loses no acknowledged batch."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import kvcore
from kvcore.wal import WAL

sys.path.insert(0, str(Path(__file__).parent))
from crash_writer import SEGMENT_SIZE, payload

WRITER = Path(__file__).with_name("crash_writer.py")
ROOT = Path(kvcore.__file__).resolve().parents[1]


def run_and_kill(directory: Path, seed: int, delay: float) -> int:
    """Start a writer, SIGKILL it after ``delay`` s; return the last index it acknowledged."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(directory), str(seed)],
        stdout=subprocess.PIPE,
        env=env,
    )
    # Wait for the first acknowledgement so every kill lands while batches are written.
    first = child.stdout.readline()
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    rest, _ = child.communicate()
    lines = [first, *rest.splitlines(keepends=True)]
    acked = [int(line) for line in lines if line.endswith(b"\n")]
    assert acked, "the writer acknowledged nothing"
    return acked[-1]


def test_no_acknowledged_batch_is_lost_under_sigkill(tmp_path: Path) -> None:
    directory = tmp_path / "wal"
    # KVCORE_CRASH_SEED picks other kill moments; KVCORE_CRASH_ROUNDS makes a soak run.
    rng = random.Random(int(os.environ.get("KVCORE_CRASH_SEED", "1")))
    acked = 0
    for round_ in range(int(os.environ.get("KVCORE_CRASH_ROUNDS", "6"))):
        acked = max(acked, run_and_kill(directory, rng.randrange(1 << 30), rng.uniform(0, 0.2)))
        with WAL.open(directory, segment_size=SEGMENT_SIZE) as wal:
            got = wal.read_all()
        indexes = [e.index for e in got.entries]
        assert indexes == list(range(1, len(indexes) + 1)), f"round {round_}: not contiguous"
        assert len(indexes) >= acked, f"round {round_}: acknowledged {acked}, found {len(indexes)}"
        bad = [e.index for e in got.entries if e.data != payload(e.index)]
        assert not bad, f"round {round_}: entries with wrong data: {bad[:5]}"
        assert got.hard_state.commit < len(indexes)
    assert len(list(directory.glob("*.wal"))) > 1, "no segment was cut"
