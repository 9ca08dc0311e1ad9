"""Crash safety of the on-disk engines: SIGKILL a writer at a random moment, reopen,
and find every batch it reported committed whole, and no batch in part.

The writer is a child process (the parent must survive the kill). Each batch ``n``
puts ``batch-n-0 .. batch-n-{K-1}`` into several buckets plus a ``last`` marker in
one write transaction, and prints ``n`` once ``commit`` has returned. A kill is a
process crash, not a power loss: with ``sync`` off a commit that returned must survive
it too (it is in the OS's page cache), which is what the engines' option docs promise.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kvcore_lmdb import LmdbEngine
from kvcore_rocksdb import RocksdbEngine

from kvcore.backend import Engine

BUCKETS = ("one", "two", "three")
KEYS_PER_BUCKET = 20
VALUE = b"v" * 2000  # several pages per batch, so kills land mid-commit too

WRITER = """
import sys
from pathlib import Path

from {package} import {engine}

path, sync = Path(sys.argv[1]), sys.argv[2] == "1"
engine = {engine}()
backend = engine.open(path, {buckets!r}, engine.options_model(sync=sync))
with backend.read() as txn:
    last = txn.get("one", b"last")
n = int(last) + 1 if last is not None else 0
while True:
    with backend.write() as txn:
        for bucket in {buckets!r}:
            for i in range({keys}):
                txn.put(bucket, b"batch-%d-%d" % (n, i), {value!r})
        txn.put("one", b"last", b"%d" % n)
        txn.commit()
    print(n, flush=True)
    n += 1
"""


def run_and_kill(engine: Engine, path: Path, sync: bool, rng: random.Random) -> list[int]:
    """Start a writer, SIGKILL it after a random number of commits; return what it printed."""
    code = WRITER.format(
        package=type(engine).__module__.split(".")[0],
        engine=type(engine).__name__,
        buckets=BUCKETS,
        keys=KEYS_PER_BUCKET,
        value=VALUE,
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(path), "1" if sync else "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    printed: list[int] = []
    try:
        for _ in range(rng.randint(1, 40)):
            line = child.stdout.readline()
            assert line, f"writer exited with {child.wait()}"
            printed.append(int(line))
    finally:
        child.send_signal(signal.SIGKILL)
        rest = child.communicate(timeout=30)[0]
    assert child.returncode == -signal.SIGKILL
    return printed + [int(n) for n in rest.split()]


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "nosync"])
@pytest.mark.parametrize("engine", [LmdbEngine(), RocksdbEngine()], ids=["lmdb", "rocksdb"])
def test_killed_writer_loses_no_reported_batch_and_leaves_none_partial(
    engine: Engine, sync: bool, tmp_path: Path
) -> None:
    rng = random.Random(f"{engine.name}-{sync}")
    path = tmp_path / "db"
    printed: list[int] = []
    for _ in range(2):  # the second run starts on what the first one's kill left
        printed += run_and_kill(engine, path, sync, rng)
        backend = engine.open(path, BUCKETS, engine.options_model())
        try:
            with backend.read() as txn:
                last = int(txn.get("one", b"last") or b"-1")
                assert printed and last >= max(printed)
                for bucket in BUCKETS:
                    stored = dict(txn.range(bucket, b"batch-", b"batch."))
                    expected = {
                        b"batch-%d-%d" % (n, i): VALUE
                        for n in range(last + 1)
                        for i in range(KEYS_PER_BUCKET)
                    }
                    assert stored == expected, f"batches beyond {last} in {bucket}"
        finally:
            backend.close()
