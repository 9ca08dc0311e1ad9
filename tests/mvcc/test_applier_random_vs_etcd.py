"""Random request sequences, answered by KVApplier and by a real etcd, must agree.

Needs Debian's etcd (marker ``etcd``). A failure names its seed and step; rerun one
seed with ``-k 'seed-N'``.
"""

from __future__ import annotations

import random

import pytest
from support.normalize import render
from support.requests import FROM_KEY, Step, cmp, compact, delete, put, rng, txn
from support.servers import NodeFactory

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .inprocess import InProcessKV

pytestmark = pytest.mark.etcd

KEYS = ["a", "b", "c", "d", "e"]
STEPS = 150
SEEDS = 8


class Generator:
    """Requests over a few keys, so that ranges, compares and conflicts meet often."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.revision = 1  # an upper guess: wrong guesses test FUTURE_REV

    def step(self) -> Step:
        r = self.rng.random()
        if r < 0.3:
            return self.put()
        if r < 0.45:
            return self.delete()
        if r < 0.7:
            return self.range()
        if r < 0.95:
            return self.txn()
        return compact(self.rng.randint(0, self.revision + 1))

    def key(self) -> str:
        return self.rng.choice(KEYS)

    def end(self) -> bytes | str | None:
        return self.rng.choice([None, None, FROM_KEY, self.key() + "z", self.key()])

    def put(self) -> Step:
        self.revision += 1
        return put(self.key(), self.rng.choice(["", "0", "1", "22"]), prev_kv=self.coin())

    def delete(self) -> Step:
        self.revision += 1
        return delete(self.key(), self.end(), prev_kv=self.coin())

    def range(self) -> Step:
        fields = {
            "limit": self.rng.choice([0, 0, 1, 2]),
            "revision": self.rng.choice([0, 0, self.rng.randint(1, self.revision + 1)]),
            "sort_target": self.rng.choice(["KEY", "VERSION", "CREATE", "MOD", "VALUE"]),
            "sort_order": self.rng.choice(["NONE", "ASCEND", "DESCEND"]),
            "keys_only": self.coin(),
            "count_only": self.rng.random() < 0.1,
        }
        for name in ("min_mod_revision", "max_mod_revision", "min_create_revision"):
            if self.rng.random() < 0.15:
                fields[name] = self.rng.randint(1, self.revision)
        return rng(self.key(), self.end(), **fields)

    def compare(self) -> pb.Compare:
        target = self.rng.choice(["VALUE", "VERSION", "CREATE", "MOD", "LEASE"])
        result = self.rng.choice(["EQUAL", "NOT_EQUAL", "GREATER", "LESS"])
        if target == "VALUE":
            value = {"value": self.rng.choice(["", "0", "1", "22"])}
        else:
            field = {"VERSION": "version", "CREATE": "create_revision", "MOD": "mod_revision"}
            value = {field.get(target, "lease"): self.rng.randint(0, max(self.revision, 3))}
        return cmp(self.key(), target, result, self.rng.choice([None, None, FROM_KEY]), **value)

    def ops(self, depth: int) -> list[Step]:
        choices = [self.put, self.delete, self.range, self.range]
        if depth < 2:
            choices.append(lambda: self.txn(depth + 1))
        return [self.rng.choice(choices)() for _ in range(self.rng.randint(0, 3))]

    def txn(self, depth: int = 0) -> Step:
        compares = [self.compare() for _ in range(self.rng.randint(0, 2))]
        return txn(compares, self.ops(depth), self.ops(depth))

    def coin(self) -> bool:
        return self.rng.random() < 0.5


@pytest.mark.parametrize("seed", range(SEEDS), ids=lambda s: f"seed-{s}")
def test_random_requests_agree(seed: int, nodes: NodeFactory) -> None:
    etcd = nodes.start("etcd")
    ours = InProcessKV()
    generator = Generator(seed)
    with etcd.client() as theirs:
        for number in range(1, STEPS + 1):
            step = generator.step()
            want = render(theirs.call(step.method, step.request))
            got = render(ours.call(step.method, step.request))
            assert got == want, f"seed {seed} step {number}: {step}"
