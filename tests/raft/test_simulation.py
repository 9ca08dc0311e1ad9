"""Deterministic seeded simulation of raft clusters under faults.

Every seed builds a cluster (tests/raft/sim.py), runs a fault phase (drops, duplicates,
reordering, partitions, crashes that lose unpersisted state, restarts, compaction,
client writes and linearizable reads, and per scenario leadership transfers and
membership changes), checking the safety invariants after every round; then heals
everything and requires a leader to commit a fresh proposal within a bounded number
of ticks.

    python -m pytest tests/raft/test_simulation.py -q                  # default seeds
    KVCORE_RAFT_SEEDS=100000 python -m pytest tests/raft/test_simulation.py -q
    KVCORE_RAFT_SEED=1234 python -m pytest tests/raft/test_simulation.py -q -k three

The default run is 1,270 seeds (the counts in SCENARIOS), about a minute on one core.
KVCORE_RAFT_SEEDS=N runs about N seeds in total, split across the scenarios in the
same proportions (16,000 took about 17 minutes on a busy two-core machine).
KVCORE_RAFT_SEED=S runs exactly seed S (in each scenario selected with -k): a failing
seed's message prints this replay command.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from .sim import Cluster, SimOptions

# Ticks a healed cluster may take to elect a leader and commit: several election
# timeouts (each at most 2 * election_tick) plus message delays.
LIVENESS_TICKS = 200


@dataclass(frozen=True)
class Scenario:
    options: Callable[[], SimOptions]
    rounds: int  # fault-phase length
    seeds: int  # default seed count
    base: int  # first seed, so scenarios explore different seeds


SCENARIOS = {
    "three_nodes": Scenario(lambda: SimOptions(voters=3, election_tick=5), 240, 550, 0),
    "five_nodes": Scenario(lambda: SimOptions(voters=5, election_tick=5), 240, 150, 10**6),
    "no_prevote": Scenario(
        lambda: SimOptions(voters=3, election_tick=5, pre_vote=False, check_quorum=False),
        240,
        120,
        2 * 10**6,
    ),
    "transfer": Scenario(
        lambda: SimOptions(voters=3, election_tick=5, transfer=0.02), 240, 150, 3 * 10**6
    ),
    "conf_change": Scenario(
        lambda: SimOptions(voters=3, spares=2, election_tick=5, conf_change=0.05, transfer=0.005),
        300,
        200,
        4 * 10**6,
    ),
    # Starts alone (its entries commit as it appends them) and gains learners and
    # voters, and loses them, under crashes: both commit rules, and the switch.
    "one_voter": Scenario(
        lambda: SimOptions(voters=1, spares=2, election_tick=5, conf_change=0.05),
        300,
        100,
        6 * 10**6,
    ),
    "wire_codec": Scenario(
        lambda: SimOptions(voters=3, election_tick=5, wire_codec=True, compact=0.1),
        240,
        100,
        5 * 10**6,
    ),
}


DEFAULT_TOTAL = sum(s.seeds for s in SCENARIOS.values())

EXPECTED = {
    "transfer": ["TIMEOUT_NOW"],
    "conf_change": ["conf_change_applied"],
}


def seeds_for(s: Scenario) -> list[int]:
    only = os.environ.get("KVCORE_RAFT_SEED")
    if only is not None:
        return [int(only)]
    total = int(os.environ.get("KVCORE_RAFT_SEEDS", "0"))
    count = s.seeds if total <= 0 else max(1, total * s.seeds // DEFAULT_TOTAL)
    return list(range(s.base, s.base + count))


def run_seed(name: str, seed: int) -> Cluster:
    s = SCENARIOS[name]
    c = Cluster(seed, s.options())
    try:
        c.run(s.rounds)
        c.heal_all()
        c.await_commit(LIVENESS_TICKS)
    except AssertionError as e:
        raise AssertionError(
            f"scenario {name}, seed {seed}, round {c.round}: {e}\n  replay: "
            f"KVCORE_RAFT_SEED={seed} python -m pytest tests/raft/test_simulation.py -q -k {name}"
        ) from e
    return c


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_simulation(name: str) -> None:
    total: Counter[str] = Counter()
    for seed in seeds_for(SCENARIOS[name]):
        c = run_seed(name, seed)
        total.update(c.stats)
        total["reads_served"] += c.check.reads_served
        total["leader_commits_checked"] += c.check.quorum_checked
    if os.environ.get("KVCORE_RAFT_SEED") is not None:
        return
    # Guard against a harness that checks nothing: the faults and features must occur.
    expected = [
        "leader_elected",
        "reads_served",
        "crash",
        "crash_in_fsync",
        "leader_commits_checked",
        "partition",
        "SNAP",
        "COMMIT",
        "snapshot_restored",
        *EXPECTED.get(name, []),
    ]
    missing = [k for k in expected if total[k] == 0]
    assert not missing, f"{name}: never happened: {missing} ({dict(total)})"
