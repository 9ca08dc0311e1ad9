"""Segment files: their names, listing and which ones a reader needs."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from kvcore.wal.errors import WalError

_NAME = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.wal$")


@dataclass(frozen=True, slots=True)
class Segment:
    seq: int
    first_index: int  # the index the next entry had when the segment was started
    path: Path


def segment_name(seq: int, first_index: int) -> str:
    return f"{seq:016x}-{first_index:016x}.wal"


def list_segments(directory: Path) -> list[Segment]:
    """The segments in ``directory``, oldest first; their sequence numbers must be contiguous."""
    found = []
    for path in directory.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append(Segment(int(match[1], 16), int(match[2], 16), path))
    found.sort(key=lambda s: s.seq)
    for before, after in itertools.pairwise(found):
        if after.seq != before.seq + 1:
            raise WalError(f"{directory}: {after.path.name} does not follow {before.path.name}")
    return found


def segments_from(segments: list[Segment], index: int) -> list[Segment]:
    """The segments a reader starting after ``index`` needs: the newest one started at or
    before ``index``, and all after it (entries above ``index`` are never in older ones)."""
    for i in range(len(segments) - 1, -1, -1):
        if segments[i].first_index <= index:
            return segments[i:]
    raise WalError(f"no WAL segment holds index {index}: it was released or never written")
