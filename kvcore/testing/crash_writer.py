"""The writer that the conformance suite's crash group runs in a child process and kills.

    python -m kvcore.testing.crash_writer ENGINE_IMPORT PATH OPTIONS_JSON SYNC

``ENGINE_IMPORT`` is ``module:qualname`` of a zero-argument callable that returns the
Engine (by default the engine's class); ``OPTIONS_JSON`` is the options instance as
JSON. Batch ``n`` puts ``batch-n-0 .. batch-n-{K-1}`` into each of :data:`BUCKETS` and
sets :data:`LAST` to ``n``, all in one write transaction. The writer prints
``commit n`` just before ``commit`` and ``committed n`` once it returned (so the suite
can aim its kill at a commit), then ``done n`` (after ``Backend.sync()`` when ``SYNC``
is 1): batch ``n`` is then reported. A run continues from the :data:`LAST` an earlier run
left in ``PATH``.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Final

from kvcore.backend import Engine
from kvcore.schema import ALL_BUCKETS, KEY, LEASE, META

BUCKETS: Final = (KEY, META, LEASE)
KEYS_PER_BUCKET: Final = 20
VALUE: Final = b"v" * 2000  # several pages per batch, so kills land mid-commit too
LAST: Final = (META, b"crash-last")
COMMIT: Final = "commit"
COMMITTED: Final = "committed"
DONE: Final = "done"


def batch_key(n: int, i: int) -> bytes:
    return b"batch-%d-%d" % (n, i)


def reported(lines: list[str]) -> list[int]:
    """The batches that lines of the writer's output report done."""
    return [int(n) for step, n in map(str.split, lines) if step == DONE]


def say(step: str, n: int) -> None:
    # One write(2) of a short line: a pipe takes it whole, so a kill never cuts it
    # (print() may write its arguments one by one).
    os.write(sys.stdout.fileno(), f"{step} {n}\n".encode())


def load_engine(spec: str) -> Engine:
    """Call the object that ``module:qualname`` names and return the Engine it makes."""
    module, _, qualname = spec.partition(":")
    factory = importlib.import_module(module)
    for part in qualname.split("."):
        factory = getattr(factory, part)
    return factory()


def main(spec: str, path: str, options_json: str, sync: str) -> None:
    engine = load_engine(spec)
    options = engine.options_model.model_validate_json(options_json)
    backend = engine.open(Path(path), ALL_BUCKETS, options)
    with backend.read() as txn:
        last = txn.get(*LAST)
    n = int(last) + 1 if last is not None else 0
    while True:
        with backend.write() as txn:
            for bucket in BUCKETS:
                for i in range(KEYS_PER_BUCKET):
                    txn.put(bucket, batch_key(n, i), VALUE)
            txn.put(*LAST, b"%d" % n)
            say(COMMIT, n)
            txn.commit()
        say(COMMITTED, n)
        if sync == "1":
            backend.sync()
        say(DONE, n)
        n += 1


if __name__ == "__main__":
    main(*sys.argv[1:])
