"""Child process of test_wal_crash: appends batches forever, printing each durable index.

Usage: python crash_writer.py DIR SEED. Each line ``<last index>`` is printed only after
``save`` returned, so every printed index must survive a SIGKILL.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from kvcore.raft.types import Entry, HardState
from kvcore.wal import WAL

SEGMENT_SIZE = 32 * 1024  # small, so kills also land in segment cuts


def payload(index: int) -> bytes:
    """Data derived from the index, so a reader can check every entry's content.

    Some entries are large so that some writes span many pages and a kill can tear them.
    """
    size = 40_000 if index % 37 == 0 else index % 601
    return (index.to_bytes(8, "little") * (size // 8 + 1))[:size]


def main() -> None:
    directory, rng = Path(sys.argv[1]), random.Random(int(sys.argv[2]))
    if WAL.exists(directory):
        wal = WAL.open(directory, segment_size=SEGMENT_SIZE)
        entries = wal.read_all().entries
        last = entries[-1].index if entries else 0
    else:
        wal = WAL.create(directory, b"crash", segment_size=SEGMENT_SIZE)
        last = 0
    while True:
        size = rng.randint(1, 40)
        batch = [Entry(1, i, data=payload(i)) for i in range(last + 1, last + 1 + size)]
        wal.save(HardState(term=1, vote=1, commit=last), batch)
        last = batch[-1].index
        print(last, flush=True)


if __name__ == "__main__":
    main()
