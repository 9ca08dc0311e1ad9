"""The engine conformance suite: the contracts of ``kvcore.backend``, run on any engine.

Every engine, in-tree or third-party, runs this same module on itself. It needs one
fixture from the engine's author, ``engine``: the Engine plugin object. An optional
fixture ``engine_options`` gives the options instance (default: ``options_model()``).

Way 1, a test module of the engine's own (how kvcore runs it on the memory engine)::

    # tests/test_conformance.py
    import pytest
    from kvcore.testing.engine_conformance import *  # noqa: F403

    @pytest.fixture
    def engine():
        return MyEngine()

Way 2, from the command line, with the fixture in an importable module ``my_fixtures``::

    python -m pytest --pyargs kvcore.testing.engine_conformance -p my_fixtures

An engine that keeps nothing across ``close`` sets ``persistent = False`` on its Engine
object; the durability and crash-safety tests are then skipped. The tests of an optional
capability (``DetachedReads``, ``OnlineDefragment``) are skipped for a backend without it.

The crash-safety group runs :mod:`kvcore.testing.crash_writer` in a child process,
SIGKILLs it at a random moment of a random commit and reopens the store. Two optional
fixtures steer it:

* ``engine_import`` - ``"module:qualname"`` of a zero-argument callable the child calls
  to make the Engine. Default: the engine's class, ``type(engine)``. The child gets
  this process's ``sys.path`` and the options as JSON (``model_dump_json``).
* ``commit_survives_kill`` - True when a returned ``commit`` survives the death of its
  process without ``Backend.sync()`` (the write reached the OS). Default False: the
  child calls ``sync()`` after every commit before it reports the batch.

The suite is grouped by contract: ordering, ranges, buckets, snapshot isolation, write
transactions, durability, crash safety, maintenance. Each group's tests depend only on
the fixtures above. docs/writing-an-engine.md walks an engine author through it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kvcore.backend import Backend, DetachedReads, Engine, OnlineDefragment, WriteTxn
from kvcore.schema import ALL_BUCKETS, KEY, META
from kvcore.testing import crash_writer

OpenBackend = Callable[[], Backend]

# Keys whose bytewise order differs from any text order: NUL, 0xff, prefixes.
ODD_KEYS = [
    b"",
    b"\x00",
    b"\x00\x00",
    b"\x01",
    b"a",
    b"a\x00",
    b"a\xff",
    b"ab",
    b"\x7f",
    b"\xff",
    b"\xff\x00",
    b"\xff\xff",
]
MIB = 1 << 20


@pytest.fixture
def engine_options(engine: Engine) -> Any:
    return engine.options_model()


@pytest.fixture
def engine_path(tmp_path: Path) -> Path:
    return tmp_path / "engine"


@pytest.fixture
def open_backend(engine: Engine, engine_options: Any, engine_path: Path) -> Iterator[OpenBackend]:
    """Open (or reopen) the engine's store in one directory; closes what it opened."""
    opened: list[Backend] = []

    def open_() -> Backend:
        backend = engine.open(engine_path, ALL_BUCKETS, engine_options)
        opened.append(backend)
        return backend

    yield open_
    for backend in opened:
        backend.close()


@pytest.fixture
def backend(open_backend: OpenBackend) -> Backend:
    return open_backend()


def put_all(backend: Backend, bucket: str, pairs: dict[bytes, bytes]) -> None:
    with backend.write() as txn:
        for key, value in pairs.items():
            txn.put(bucket, key, value)
        txn.commit()


def scan(txn: Any, bucket: str, *args: Any, **kwargs: Any) -> list[tuple[bytes, bytes]]:
    return list(txn.range(bucket, *args, **kwargs))


# --- ordering -------------------------------------------------------------------------


def test_engine_declares_name_and_options(engine: Engine) -> None:
    assert isinstance(engine, Engine)
    assert engine.name and isinstance(engine.name, str)


def test_keys_are_ordered_bytewise(backend: Backend) -> None:
    put_all(backend, KEY, {k: b"v" + k for k in reversed(ODD_KEYS)})
    with backend.read() as txn:
        assert scan(txn, KEY, b"") == [(k, b"v" + k) for k in sorted(ODD_KEYS)]
        assert scan(txn, KEY, b"", reverse=True) == [(k, b"v" + k) for k in sorted(ODD_KEYS)][::-1]


def test_empty_key_and_empty_value(backend: Backend) -> None:
    put_all(backend, KEY, {b"": b"", b"k": b""})
    with backend.read() as txn:
        assert txn.get(KEY, b"") == b""
        assert txn.get(KEY, b"k") == b""
        assert scan(txn, KEY, b"", b"\x00") == [(b"", b"")]


def test_large_key_and_value(backend: Backend) -> None:
    key, value = b"k" * MIB, bytes(range(256)) * (MIB // 256)
    put_all(backend, KEY, {key: value})
    with backend.read() as txn:
        assert txn.get(KEY, key) == value
        assert scan(txn, KEY, b"") == [(key, value)]


def test_get_missing(backend: Backend) -> None:
    put_all(backend, KEY, {b"a": b"1"})
    with backend.read() as txn:
        assert txn.get(KEY, b"b") is None
        assert txn.get(KEY, b"a\x00") is None
        assert txn.get(META, b"a") is None


# --- ranges ---------------------------------------------------------------------------

RANGE_KEYS = [b"a", b"b", b"ba", b"c", b"d"]


@pytest.mark.parametrize(
    ("start", "end", "limit", "reverse", "expected"),
    [
        (b"", None, 0, False, RANGE_KEYS),
        (b"b", None, 0, False, [b"b", b"ba", b"c", b"d"]),
        (b"b", b"c", 0, False, [b"b", b"ba"]),
        (b"b", b"c", 0, True, [b"ba", b"b"]),
        (b"a", b"a", 0, False, []),
        (b"c", b"a", 0, False, []),
        (b"bb", b"bc", 0, False, []),
        (b"", None, 2, False, [b"a", b"b"]),
        (b"", None, 2, True, [b"d", b"c"]),
        (b"b", b"d", 1, True, [b"c"]),
        (b"", None, 10, False, RANGE_KEYS),
        (b"e", None, 0, False, []),
        (b"", b"\x00", 0, False, []),
    ],
)
def test_range(
    backend: Backend,
    start: bytes,
    end: bytes | None,
    limit: int,
    reverse: bool,
    expected: list[bytes],
) -> None:
    put_all(backend, KEY, {k: k.upper() for k in RANGE_KEYS})
    with backend.read() as txn:
        got = scan(txn, KEY, start, end, limit=limit, reverse=reverse)
    assert got == [(k, k.upper()) for k in expected]


def test_range_over_many_keys(backend: Backend) -> None:
    keys = [i.to_bytes(4, "big") for i in range(3000)]
    put_all(backend, KEY, {k: k for k in keys})
    with backend.read() as txn:
        assert [k for k, _ in txn.range(KEY, b"")] == keys
        assert [k for k, _ in txn.range(KEY, b"", reverse=True)] == keys[::-1]
        assert [k for k, _ in txn.range(KEY, keys[10], keys[2900])] == keys[10:2900]


def test_buckets_are_independent(backend: Backend) -> None:
    put_all(backend, KEY, {b"a": b"key"})
    put_all(backend, META, {b"a": b"meta", b"b": b"meta"})
    with backend.write() as txn:
        txn.delete(META, b"b")
        txn.commit()
    with backend.read() as txn:
        assert txn.get(KEY, b"a") == b"key"
        assert txn.get(META, b"a") == b"meta"
        assert scan(txn, KEY, b"") == [(b"a", b"key")]
        assert scan(txn, META, b"") == [(b"a", b"meta")]
        for bucket in ALL_BUCKETS:
            if bucket not in (KEY, META):
                assert scan(txn, bucket, b"") == []


# --- snapshot isolation ---------------------------------------------------------------


def test_read_snapshot_ignores_later_commits(backend: Backend) -> None:
    put_all(backend, KEY, {b"a": b"1", b"b": b"1", b"c": b"1"})
    with backend.read() as snapshot:
        with backend.write() as txn:
            txn.put(KEY, b"a", b"2")
            txn.delete(KEY, b"b")
            txn.put(KEY, b"bb", b"2")
            txn.commit()
        put_all(backend, KEY, {b"a": b"3", b"d": b"3"})
        assert snapshot.get(KEY, b"a") == b"1"
        assert snapshot.get(KEY, b"b") == b"1"
        assert snapshot.get(KEY, b"bb") is None
        assert snapshot.get(KEY, b"d") is None
        expected = [(b"a", b"1"), (b"b", b"1"), (b"c", b"1")]
        assert scan(snapshot, KEY, b"") == expected
        assert scan(snapshot, KEY, b"", reverse=True) == expected[::-1]
        assert scan(snapshot, KEY, b"a", limit=2) == expected[:2]
    with backend.read() as txn:
        assert scan(txn, KEY, b"") == [(b"a", b"3"), (b"bb", b"2"), (b"c", b"1"), (b"d", b"3")]


def test_range_iterator_is_a_snapshot_across_commits(backend: Backend) -> None:
    keys = [i.to_bytes(4, "big") for i in range(1000)]
    put_all(backend, KEY, {k: b"old" for k in keys})
    with backend.read() as snapshot:
        pairs = snapshot.range(KEY, b"")
        first = [next(pairs) for _ in range(10)]
        with backend.write() as txn:
            for k in keys[::2]:
                txn.delete(KEY, k)
            for k in keys[1::2]:
                txn.put(KEY, k, b"new")
            txn.put(KEY, b"\x00\x00\x00\x05\x00", b"new")
            txn.commit()
        rest = list(pairs)
    assert first + rest == [(k, b"old") for k in keys]


def test_two_snapshots_at_different_points(backend: Backend) -> None:
    put_all(backend, KEY, {b"k": b"1"})
    with backend.read() as one:
        put_all(backend, KEY, {b"k": b"2"})
        with backend.read() as two:
            put_all(backend, KEY, {b"k": b"3"})
            assert one.get(KEY, b"k") == b"1"
            assert two.get(KEY, b"k") == b"2"


# --- write transactions ---------------------------------------------------------------


def test_write_txn_sees_its_own_writes(backend: Backend) -> None:
    put_all(backend, KEY, {b"a": b"1", b"b": b"1", b"c": b"1"})
    with backend.write() as txn:
        txn.put(KEY, b"a", b"2")
        txn.delete(KEY, b"b")
        txn.put(KEY, b"d", b"2")
        assert txn.get(KEY, b"a") == b"2"
        assert txn.get(KEY, b"b") is None
        assert scan(txn, KEY, b"") == [(b"a", b"2"), (b"c", b"1"), (b"d", b"2")]
        assert scan(txn, KEY, b"", reverse=True, limit=2) == [(b"d", b"2"), (b"c", b"1")]
        with backend.read() as other:
            assert other.get(KEY, b"a") == b"1"
            assert other.get(KEY, b"d") is None
        txn.commit()


def test_put_then_delete_then_put_in_one_txn(backend: Backend) -> None:
    with backend.write() as txn:
        txn.put(KEY, b"k", b"1")
        txn.delete(KEY, b"k")
        assert txn.get(KEY, b"k") is None
        txn.put(KEY, b"k", b"2")
        txn.commit()
    with backend.read() as txn:
        assert txn.get(KEY, b"k") == b"2"


def test_abort_discards(backend: Backend) -> None:
    put_all(backend, KEY, {b"a": b"1"})
    txn = backend.write()
    txn.put(KEY, b"a", b"2")
    txn.put(KEY, b"b", b"2")
    txn.abort()
    txn.abort()
    with backend.write() as txn:
        txn.delete(KEY, b"a")
    with backend.read() as txn:
        assert scan(txn, KEY, b"") == [(b"a", b"1")]


def test_exception_in_with_aborts(backend: Backend) -> None:
    put_all(backend, KEY, {b"a": b"1"})

    def failing(txn: WriteTxn) -> None:
        txn.put(KEY, b"a", b"2")
        txn.delete(KEY, b"a")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError), backend.write() as txn:
        failing(txn)
    with backend.read() as txn:
        assert scan(txn, KEY, b"") == [(b"a", b"1")]


def test_commit_is_atomic_across_buckets(backend: Backend) -> None:
    with backend.read() as before, backend.write() as txn:
        for i in range(100):
            txn.put(KEY, b"%03d" % i, b"x")
        txn.put(META, b"index", b"100")
        assert before.get(META, b"index") is None
        txn.commit()
        assert scan(before, KEY, b"") == []
    with backend.read() as after:
        assert len(scan(after, KEY, b"")) == 100
        assert after.get(META, b"index") == b"100"


def test_delete_missing_key_is_ok(backend: Backend) -> None:
    with backend.write() as txn:
        txn.delete(KEY, b"nothing")
        txn.delete(META, b"")
        txn.commit()
    with backend.read() as txn:
        assert scan(txn, KEY, b"") == []


def test_values_are_copied_in(backend: Backend) -> None:
    value = bytearray(b"abc")
    with backend.write() as txn:
        txn.put(KEY, b"k", bytes(value))
        value[0] = ord("X")
        txn.commit()
    with backend.read() as txn:
        assert txn.get(KEY, b"k") == b"abc"


# --- durability -----------------------------------------------------------------------


@pytest.fixture
def persistent(engine: Engine) -> None:
    if getattr(engine, "persistent", True) is False:
        pytest.skip(f"engine {engine.name!r} declares persistent = False")


@pytest.mark.usefixtures("persistent")
def test_reopen_after_close_keeps_contents(open_backend: OpenBackend) -> None:
    backend = open_backend()
    put_all(backend, KEY, {k: b"v" + k for k in ODD_KEYS})
    put_all(backend, META, {b"m": b"1"})
    with backend.write() as txn:
        txn.delete(KEY, b"a")
        txn.commit()
    with backend.write() as txn:
        txn.put(KEY, b"aborted", b"x")
        txn.abort()
    backend.sync()
    backend.close()
    reopened = open_backend()
    with reopened.read() as txn:
        assert scan(txn, KEY, b"") == [(k, b"v" + k) for k in sorted(ODD_KEYS) if k != b"a"]
        assert txn.get(META, b"m") == b"1"


# --- crash safety ---------------------------------------------------------------------


@pytest.fixture
def engine_import(engine: Engine) -> str:
    cls = type(engine)
    return f"{cls.__module__}:{cls.__qualname__}"


@pytest.fixture
def commit_survives_kill() -> bool:
    return False


def run_and_kill(args: list[str], rng: random.Random) -> list[int]:
    """Start a crash writer and SIGKILL it at a random moment of a random batch's
    commit; return the batches it reported, including any it reported just before the
    kill."""
    victim = rng.randint(0, 30)  # commits this writer starts before the one killed
    lines: list[str] = []
    commits, began, commit_seconds = 0, 0.0, 0.0
    with subprocess.Popen(
        [sys.executable, "-m", "kvcore.testing.crash_writer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        try:
            for line in iter(child.stdout.readline, ""):
                lines.append(line)
                step = line.split()[0]
                if step == crash_writer.COMMITTED:
                    commit_seconds = time.monotonic() - began
                elif step == crash_writer.COMMIT and commits == victim:
                    time.sleep(rng.uniform(0, commit_seconds))  # as long as the last took
                    break
                elif step == crash_writer.COMMIT:
                    commits, began = commits + 1, time.monotonic()
        finally:
            child.kill()
        # Read the rest through the same stream: it may hold lines read ahead already.
        lines += child.stdout.readlines()
        errors = child.stderr.read()
    assert child.returncode == -signal.SIGKILL, (
        f"the crash writer exited on its own (is {args[0]!r} importable in a fresh "
        f"process? else override the engine_import fixture):\n{errors}"
    )
    return crash_writer.reported(lines)


@pytest.mark.usefixtures("persistent")
def test_killed_writer_keeps_every_reported_batch_whole_and_none_partial(
    engine: Engine,
    engine_import: str,
    engine_options: Any,
    commit_survives_kill: bool,
    engine_path: Path,
    open_backend: OpenBackend,
) -> None:
    rng = random.Random(engine.name)
    args = [
        engine_import,
        str(engine_path),
        engine_options.model_dump_json(),
        "0" if commit_survives_kill else "1",
    ]
    reported: list[int] = []
    for _ in range(3):  # each writer continues from what the previous kill left
        reported += run_and_kill(args, rng)
        backend = open_backend()
        with backend.read() as txn:
            last = int(txn.get(*crash_writer.LAST) or b"-1")
            assert last >= max(reported, default=-1), f"reported {max(reported)}, kept {last}"
            for bucket in crash_writer.BUCKETS:
                stored = dict(txn.range(bucket, b"batch-", b"batch."))
                assert stored == {
                    crash_writer.batch_key(n, i): crash_writer.VALUE
                    for n in range(last + 1)
                    for i in range(crash_writer.KEYS_PER_BUCKET)
                }, f"{bucket}: a batch up to {last} is not whole, or one beyond it is there"
        backend.close()


# --- maintenance ----------------------------------------------------------------------


def test_size_reflects_contents(backend: Backend) -> None:
    empty = backend.size_in_use()
    put_all(backend, KEY, {b"%d" % i: b"x" * 1000 for i in range(200)})
    assert backend.size_in_use() > empty
    assert backend.size() >= backend.size_in_use()


def test_defragment_keeps_contents(backend: Backend) -> None:
    put_all(backend, KEY, {b"%04d" % i: b"x" * 100 for i in range(500)})
    with backend.write() as txn:
        for i in range(0, 500, 2):
            txn.delete(KEY, b"%04d" % i)
        txn.commit()
    with backend.read() as txn:
        before = scan(txn, KEY, b"")
    backend.defragment()
    assert backend.size() >= backend.size_in_use()
    with backend.read() as txn:
        assert scan(txn, KEY, b"") == before
    put_all(backend, KEY, {b"after": b"1"})
    with backend.read() as txn:
        assert txn.get(KEY, b"after") == b"1"


def _in_thread(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``fn`` on a thread; the returned call joins it and gives its result."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = fn()
        except BaseException as exc:  # re-raised on join
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()

    def join() -> Any:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    return join


def _churn(backend: Backend, rounds: int, model: dict[bytes, bytes], seed: int = 0) -> None:
    """Commit ``rounds`` small batches on this thread (puts, overwrites, deletes),
    reading between them, and keep ``model`` equal to the bucket's contents."""
    rng = random.Random(seed)
    for n in range(rounds):
        with backend.write() as txn:
            for _ in range(20):
                key = b"%04d" % rng.randrange(3000)
                if rng.random() < 0.3:
                    txn.delete(KEY, key)
                    model.pop(key, None)
                else:
                    value = b"seed %d round %d " % (seed, n) + b"y" * rng.randrange(200)
                    txn.put(KEY, key, value)
                    model[key] = value
            txn.commit()
        with backend.read() as txn:
            assert txn.get(KEY, b"%04d" % 0) == model.get(b"%04d" % 0)


def test_detached_read_is_a_snapshot_on_another_thread(backend: Backend) -> None:
    if not isinstance(backend, DetachedReads):
        pytest.skip("the backend has no read_detached")
    before = {b"%04d" % i: b"x" * 100 for i in range(2000)}
    put_all(backend, KEY, before)
    reader = backend.read_detached()

    def read_all() -> list[tuple[bytes, bytes]]:
        pairs = []
        for pair in reader.range(KEY, b""):
            pairs.append(pair)
            if len(pairs) % 100 == 0:
                time.sleep(0.001)  # let the other thread commit in between
        first = reader.get(KEY, b"0000")
        reader.close()
        return [*pairs, (b"get", first)]

    join = _in_thread(read_all)
    _churn(backend, 50, dict(before))
    assert join() == [*sorted(before.items()), (b"get", b"x" * 100)]


def test_online_defragment_keeps_writes_made_while_it_runs(backend: Backend) -> None:
    if not isinstance(backend, OnlineDefragment):
        pytest.skip("the backend has no start_defragment")
    model = {b"%04d" % i: b"x" * 300 for i in range(3000)}
    put_all(backend, KEY, model)
    with backend.write() as txn:
        for i in range(0, 3000, 2):
            txn.delete(KEY, b"%04d" % i)
            del model[b"%04d" % i]
        txn.commit()
    defrag = backend.start_defragment()
    join = _in_thread(defrag.run)
    _churn(backend, 30, model)
    join()
    join = _in_thread(defrag.run)  # a catch-up round, writes still going on
    _churn(backend, 30, model, seed=1)
    join()
    _churn(backend, 5, model, seed=2)  # after the last round, before finish
    assert defrag.can_finish()  # no read transaction is open
    defrag.finish()
    with backend.read() as txn:
        assert dict(scan(txn, KEY, b"")) == model
    _churn(backend, 5, model, seed=3)
    with backend.read() as txn:
        assert dict(scan(txn, KEY, b"")) == model


def test_online_defragment_finishes_once_readers_close(backend: Backend) -> None:
    if not isinstance(backend, OnlineDefragment):
        pytest.skip("the backend has no start_defragment")
    put_all(backend, KEY, {b"a": b"1"})
    reader = backend.read()
    defrag = backend.start_defragment()
    defrag.run()
    assert reader.get(KEY, b"a") == b"1"  # still valid: finish has not run
    reader.close()
    assert defrag.can_finish()
    defrag.finish()
    with backend.read() as txn:
        assert txn.get(KEY, b"a") == b"1"
