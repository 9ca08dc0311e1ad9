"""What both on-disk engines (LMDB and RocksDB) promise beyond the conformance suite,
checked against a dictionary model: long keys, large values, snapshots held across
commits and across an open write transaction, every kind of range, reopen and
defragment in between."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kvcore_lmdb import LmdbEngine
from kvcore_rocksdb import RocksdbEngine

from kvcore.backend import Backend, Engine, ReadTxn

BUCKETS = ("one", "two", "three")
Model = dict[str, dict[bytes, bytes]]
MIB = 1 << 20

# Short keys, the empty key, and keys past LMDB's 511-byte limit that share long
# prefixes with each other and with short keys (LMDB's group records).
_LONG = b"p" * 600
KEYS = [
    b"",
    b"\x00",
    b"a",
    b"a\xff",
    b"b",
    b"p" * 509,
    _LONG[:510],
    _LONG,
    _LONG + b"\x00",
    _LONG + b"x",
    b"p" * 509 + b"q" * 100,
    b"q",
    b"\xff" * 3,
]


@pytest.fixture(params=[LmdbEngine, RocksdbEngine], ids=["lmdb", "rocksdb"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.param()


@pytest.fixture
def open_backend(engine: Engine, tmp_path: Path) -> Iterator[Callable[[], Backend]]:
    opened: list[Backend] = []

    def open_() -> Backend:
        # No fsync per commit: these tests are about contents, not power loss.
        options = engine.options_model(sync=False)
        opened.append(engine.open(tmp_path / "db", BUCKETS, options))
        return opened[-1]

    yield open_
    for backend in opened:
        backend.close()


def check(txn: ReadTxn, model: Model, rng: random.Random) -> None:
    """Compare ``txn`` with ``model`` on gets and a few random ranges of every kind."""
    for bucket in BUCKETS:
        expected = sorted(model[bucket].items())
        assert list(txn.range(bucket, b"")) == expected
        for key in rng.sample(KEYS, 4):
            assert txn.get(bucket, key) == model[bucket].get(key)
        for _ in range(4):
            start = rng.choice(KEYS)
            end = rng.choice([None, rng.choice(KEYS)])
            limit = rng.choice([0, 1, 2, 5])
            reverse = rng.random() < 0.5
            want = [p for p in expected if p[0] >= start and (end is None or p[0] < end)]
            want = want[::-1] if reverse else want
            got = list(txn.range(bucket, start, end, limit=limit, reverse=reverse))
            assert got == (want[:limit] if limit else want), (start, end, limit, reverse)


@pytest.mark.parametrize("seed", range(3))
def test_matches_a_model_under_random_writes(
    open_backend: Callable[[], Backend], seed: int
) -> None:
    rng = random.Random(seed)
    backend = open_backend()
    model: Model = {b: {} for b in BUCKETS}
    readers: list[tuple[ReadTxn, Model]] = []
    for step in range(80):
        pending = {b: dict(d) for b, d in model.items()}
        with backend.write() as txn:
            for _ in range(rng.randint(1, 12)):
                bucket, key = rng.choice(BUCKETS), rng.choice(KEYS)
                if rng.random() < 0.35:
                    txn.delete(bucket, key)
                    pending[bucket].pop(key, None)
                else:
                    value = b"%d" % step * rng.randint(0, 3)
                    txn.put(bucket, key, value)
                    pending[bucket][key] = value
            check(txn, pending, rng)  # its own writes
            if readers and rng.random() < 0.3:  # a snapshot, while this txn is open
                check(*rng.choice(readers), rng)
            if rng.random() < 0.1:
                continue  # leaving the block without commit aborts
            txn.commit()
        model = pending
        if rng.random() < 0.2:
            readers.append((backend.read(), {b: dict(d) for b, d in model.items()}))
        if readers and rng.random() < 0.15:
            readers.pop(rng.randrange(len(readers)))[0].close()
        if not readers and rng.random() < 0.05:  # LMDB's defragment reopens the file
            backend.defragment()
        if not readers and rng.random() < 0.05:
            backend.close()
            backend = open_backend()
    for reader, copy in readers:
        check(reader, copy, rng)
        reader.close()


def test_large_values_survive_reopen(open_backend: Callable[[], Backend]) -> None:
    values = {b"%d" % i: random.Random(i).randbytes((i + 1) * 3 * MIB) for i in range(3)}
    backend = open_backend()
    with backend.write() as txn:
        for key, value in values.items():
            txn.put("one", key, value)
        assert txn.get("one", b"2") == values[b"2"]
        txn.commit()
    backend.close()
    backend = open_backend()
    with backend.read() as txn:
        assert dict(txn.range("one", b"")) == values
        assert type(txn.get("one", b"0")) is bytes


def test_defragment_keeps_contents_and_gives_space_back(
    open_backend: Callable[[], Backend],
) -> None:
    backend = open_backend()
    keys = [b"%06d" % i for i in range(4000)]
    with backend.write() as txn:
        for key in keys:
            txn.put("one", key, key * 200)
        txn.commit()
    with backend.write() as txn:
        for key in keys[:3800]:
            txn.delete("one", key)
        txn.commit()
    before = backend.size()
    backend.defragment()
    assert backend.size() < before / 2
    assert backend.size_in_use() <= backend.size()
    with backend.read() as txn:
        assert list(txn.range("one", b"")) == [(k, k * 200) for k in keys[3800:]]
    backend.close()
    with open_backend().read() as txn:
        assert len(list(txn.range("one", b""))) == 200


def test_reader_survives_interleaved_use(open_backend: Callable[[], Backend]) -> None:
    """Two readers and gets stepping through one range between commits."""
    backend = open_backend()
    keys = [b"%05d" % i for i in range(2000)]
    with backend.write() as txn:
        for key in keys:
            txn.put("one", key, b"old")
        txn.commit()
    one, two = backend.read(), backend.read()
    forward, backward = one.range("one", b""), two.range("one", b"", reverse=True)
    got_forward, got_backward = [], []
    for i, key in enumerate(keys):
        got_forward.append(next(forward))
        got_backward.append(next(backward))
        assert one.get("one", keys[-1 - i]) == b"old"
        if i % 500 == 0:
            with backend.write() as txn:
                txn.put("one", key, b"new")
                txn.delete("one", keys[-1 - i])
                txn.commit()
    assert got_forward == [(k, b"old") for k in keys]
    assert got_backward == [(k, b"old") for k in reversed(keys)]
    one.close()
    two.close()


def test_write_txn_may_delete_what_it_is_ranging_over(
    open_backend: Callable[[], Backend],
) -> None:
    backend = open_backend()
    keys = [b"%04d" % i for i in range(1000)]
    with backend.write() as txn:
        for key in keys:
            txn.put("two", key, b"v")
        txn.commit()
    with backend.write() as txn:
        seen: list[Any] = []
        for key, _ in txn.range("two", b"", reverse=True):
            seen.append(key)
            txn.delete("two", key)
        assert seen == keys[::-1]
        assert list(txn.range("two", b"")) == []
        txn.commit()
    with backend.read() as txn:
        assert list(txn.range("two", b"")) == []


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_limits_across_many_keys(open_backend: Callable[[], Backend], reverse: bool) -> None:
    backend = open_backend()
    keys = [b"%05d" % i for i in range(3000)]
    with backend.write() as txn:
        for key in keys:
            txn.put("one", key, key)
        txn.commit()
    ordered = keys[::-1] if reverse else keys
    with backend.read() as reader, backend.write() as writer:
        for limit in (1, 7, 8, 9, 100, 1023, 2500, 3001):
            for end in (None, keys[2000]):
                want = [k for k in ordered if k >= keys[5] and (end is None or k < end)]
                for txn in (reader, writer):
                    got = txn.range("one", keys[5], end, limit=limit, reverse=reverse)
                    assert [k for k, _ in got] == want[:limit], (limit, end)
