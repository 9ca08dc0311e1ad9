"""Random operations against a list model: appends that overwrite the tail, snapshots,
releases and reopens, with segments small enough to be cut all the time."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from kvcore.raft.types import Entry, HardState
from kvcore.wal import WAL, SnapshotMarker

SEGMENT = 1024


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_match_a_model(tmp_path: Path, seed: int) -> None:
    seed += int(os.environ.get("KVCORE_WAL_SEED", "0"))
    rng = random.Random(seed)
    d = tmp_path / "wal"
    wal = WAL.create(d, b"model", segment_size=SEGMENT)
    log: list[Entry] = []  # the model: the whole log, index i at position i - 1
    snap = SnapshotMarker()
    state = HardState()
    for step in range(250):
        op = rng.random()
        if op < 0.6:
            first = rng.randint(max(snap.index + 1, len(log) - 5, 1), len(log) + 1)
            term = (log[-1].term if log else 1) + (first <= len(log))
            batch = [
                Entry(term, i, data=rng.randbytes(rng.randint(0, 300)))
                for i in range(first, first + rng.randint(1, 8))
            ]
            if rng.random() < 0.5:
                state = HardState(term, rng.randint(0, 3), min(first - 1, snap.index + 3))
                wal.save(state, batch)
            else:
                wal.save(None, batch)
            log[first - 1 :] = batch
        elif op < 0.75 and len(log) > snap.index:
            index = rng.randint(snap.index + 1, len(log))
            snap = SnapshotMarker(index, log[index - 1].term)
            wal.save_snapshot(snap)
        elif op < 0.85:
            wal.release_to(snap.index)
        else:
            wal.close()
            wal = WAL.open(d, snap, segment_size=SEGMENT)
            got = wal.read_all()
            assert got.entries == log[snap.index :], f"seed {seed} step {step}"
            assert got.hard_state == state, f"seed {seed} step {step}"
            assert got.metadata == b"model"
    wal.close()
    assert len(list(d.glob("*.wal"))) > 1
