"""What the memory engine promises beyond the conformance suite: options, memory held by
snapshots, and snapshots checked against copies under random writes."""

from __future__ import annotations

import random
from pathlib import Path

import pydantic
import pytest
from kvcore_memory import MemoryEngine, MemoryOptions
from kvcore_memory.engine import MemoryBackend

from kvcore.backend import Engine

BUCKETS = ("one", "two")


def open_backend() -> MemoryBackend:
    return MemoryEngine().open(Path("."), BUCKETS, MemoryOptions())


def test_is_an_engine_without_options() -> None:
    engine = MemoryEngine()
    assert isinstance(engine, Engine)
    assert engine.name == "memory"
    assert engine.persistent is False
    MemoryOptions.model_validate({})
    with pytest.raises(pydantic.ValidationError):
        MemoryOptions.model_validate({"path": "x"})


def test_snapshot_memory_is_released_on_close() -> None:
    backend = open_backend()
    with backend.write() as txn:
        txn.put("one", b"k", b"v" * 1000)
        txn.commit()
    assert backend.size() == backend.size_in_use() == 1001
    reader = backend.read()
    with backend.write() as txn:
        txn.delete("one", b"k")
        txn.commit()
    assert backend.size_in_use() == 0
    assert backend.size() == 1001  # the reader still sees the value
    reader.close()
    assert backend.size() == 0


def test_closed_backend_refuses_use() -> None:
    backend = open_backend()
    backend.close()
    with pytest.raises(ValueError):
        backend.read()


@pytest.mark.parametrize("seed", range(5))
def test_snapshots_match_copies_under_random_writes(seed: int) -> None:
    rng = random.Random(seed)
    backend = open_backend()
    model: dict[str, dict[bytes, bytes]] = {b: {} for b in BUCKETS}
    readers = []
    for step in range(300):
        with backend.write() as txn:
            for _ in range(rng.randint(1, 20)):
                bucket, key = rng.choice(BUCKETS), bytes([rng.randrange(40)])
                if rng.random() < 0.3:
                    txn.delete(bucket, key)
                    model[bucket].pop(key, None)
                else:
                    txn.put(bucket, key, b"%d" % step)
                    model[bucket][key] = b"%d" % step
            txn.commit()
        if rng.random() < 0.2:
            readers.append((backend.read(), {b: dict(d) for b, d in model.items()}))
        if readers and rng.random() < 0.1:
            readers.pop(rng.randrange(len(readers)))[0].close()
    for reader, copy in readers:
        for bucket in BUCKETS:
            expected = sorted(copy[bucket].items())
            assert list(reader.range(bucket, b"")) == expected, seed
            assert list(reader.range(bucket, b"", reverse=True)) == expected[::-1], seed
            lo, hi = bytes([rng.randrange(40)]), bytes([rng.randrange(40)])
            assert list(reader.range(bucket, lo, hi)) == [p for p in expected if lo <= p[0] < hi]
            for key in (bytes([i]) for i in range(40)):
                assert reader.get(bucket, key) == copy[bucket].get(key)


def test_write_txn_view_across_many_keys() -> None:
    backend = open_backend()
    base = {b"%05d" % i: b"base" for i in range(0, 3000, 2)}
    with backend.write() as txn:
        for key, value in base.items():
            txn.put("one", key, value)
        txn.commit()
    model = dict(base)
    with backend.write() as txn:
        for i in range(0, 3000, 3):
            key = b"%05d" % i
            if i % 4 == 0:
                txn.delete("one", key)
                model.pop(key, None)
            else:
                txn.put("one", key, b"new")
                model[key] = b"new"
        expected = sorted(model.items())
        assert list(txn.range("one", b"")) == expected
        assert list(txn.range("one", b"", reverse=True)) == expected[::-1]
        assert (
            list(txn.range("one", b"00100", b"02000", limit=700))
            == [p for p in expected if b"00100" <= p[0] < b"02000"][:700]
        )
