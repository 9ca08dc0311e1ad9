"""A seeded stream of random KV requests over a small key space.

The stream depends on the seed alone, never on answers, so the same seed replays the
same requests against any server. Keys collide often, revisions asked for run from
below the compaction point to past the head, and transactions may repeat a key: the
errors are compared too.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from support.requests import FROM_KEY, Step, cmp, compact, delete, prefix_end, put, rng, txn

from kvcore.api.etcdserverpb import rpc_pb2

KEYS = [f"k{i}" for i in range(6)] + ["k1/a", "k1/b"]
VALUES = ["", "a", "b", "c", "zz"]
SORT_TARGETS = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"]
SORT_ORDERS = ["NONE", "ASCEND", "DESCEND"]
COMPARE_TARGETS = ["VALUE", "VERSION", "CREATE", "MOD", "LEASE"]
COMPARE_RESULTS = ["EQUAL", "NOT_EQUAL", "GREATER", "LESS"]


class RandomOps:
    def __init__(self, seed: int) -> None:
        self._rand = random.Random(seed)
        # Writes so far bound the revisions worth asking for (the head is at most this + 1).
        self._writes = 0

    def steps(self, count: int) -> Iterator[Step]:
        makers = [self._put, self._delete, self._range, self._txn, self._compact]
        weights = [35, 12, 28, 22, 3]
        for _ in range(count):
            step = self._rand.choices(makers, weights)[0]()
            self._writes += step.method in ("Put", "DeleteRange", "Txn")
            yield step

    def _key(self) -> str:
        return self._rand.choice(KEYS)

    def _interval(self) -> tuple[str, bytes | None]:
        key = self._key()
        shape = self._rand.randrange(4)
        if shape == 0:
            return key, None
        if shape == 1:
            return key, prefix_end(key)
        if shape == 2:
            return key, FROM_KEY
        return key, self._key().encode()

    def _revision(self) -> int:
        return self._rand.randint(0, self._writes + 2)

    def _put(self) -> Step:
        flags = {"prev_kv": self._rand.random() < 0.5}
        if self._rand.random() < 0.05:
            return put(self._key(), ignore_value=True, **flags)
        return put(self._key(), self._rand.choice(VALUES), **flags)

    def _delete(self) -> Step:
        key, end = self._interval()
        return delete(key, end, prev_kv=self._rand.random() < 0.5)

    def _range(self) -> Step:
        key, end = self._interval()
        fields: dict[str, object] = {}
        if self._rand.random() < 0.3:
            fields["revision"] = self._revision()
        if self._rand.random() < 0.4:
            fields["sort_target"] = self._rand.choice(SORT_TARGETS)
            fields["sort_order"] = self._rand.choice(SORT_ORDERS)
        if self._rand.random() < 0.3:
            fields["limit"] = self._rand.randint(1, 4)
        flag = self._rand.choice(["", "", "keys_only", "count_only"])
        if flag:
            fields[flag] = True
        return rng(key, end, **fields)

    def _compare(self) -> rpc_pb2.Compare:
        target = self._rand.choice(COMPARE_TARGETS)
        values = {
            "VALUE": ("value", self._rand.choice(VALUES)),
            "VERSION": ("version", self._rand.randint(0, 3)),
            "CREATE": ("create_revision", self._revision()),
            "MOD": ("mod_revision", self._revision()),
            "LEASE": ("lease", self._rand.randint(-1, 1)),
        }
        name, value = values[target]
        key, end = self._interval() if self._rand.random() < 0.2 else (self._key(), None)
        return cmp(key, target, self._rand.choice(COMPARE_RESULTS), end, **{name: value})

    def _ops(self) -> list[Step]:
        makers = [self._put, self._delete, self._range]
        return [self._rand.choice(makers)() for _ in range(self._rand.randint(0, 3))]

    def _txn(self) -> Step:
        compares = [self._compare() for _ in range(self._rand.randint(0, 2))]
        return txn(compares, self._ops(), self._ops())

    def _compact(self) -> Step:
        return compact(self._rand.randint(1, self._writes + 2))
