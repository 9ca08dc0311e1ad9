"""Reading a sorted base dictionary through an overlay of changes, in key order.

Both read and write transactions of the memory engine are such a view: a reader's
overlay holds the values its snapshot had before later commits replaced them; the
writer's overlay holds its own pending writes. :data:`ABSENT` in an overlay means
"no such key in this view".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Final

from sortedcontainers import SortedDict

ABSENT: Final = object()

# Keys taken from each side per step of a range. A range never holds an iterator on
# either dictionary across a ``yield``: commits may change the base and a reader's
# overlay between two steps of the caller, and each step reads both together, which
# is exact at that instant.
_CHUNK: Final = 256


def lookup(base: SortedDict, overlay: Mapping[bytes, object], key: bytes) -> bytes | None:
    value = overlay[key] if key in overlay else base.get(key, ABSENT)
    return None if value is ABSENT else value


def scan(
    base: SortedDict,
    overlay: SortedDict,
    start: bytes,
    end: bytes | None,
    limit: int,
    reverse: bool,
) -> Iterator[tuple[bytes, bytes]]:
    """Yield the view's pairs in ``[start, end)``, ascending or descending, at most ``limit``."""
    remaining = limit if limit > 0 else -1
    lo, hi = start, end
    while hi is None or lo < hi:
        keys, bound = _step(base, overlay, lo, hi, reverse)
        for key in keys:
            value = overlay[key] if key in overlay else base[key]
            if value is ABSENT:
                continue
            yield key, value
            remaining -= 1
            if remaining == 0:
                return
        if bound is None:
            return
        if reverse:
            hi = bound
        else:
            lo = bound + b"\x00"  # the smallest key above ``bound``


def _step(
    base: SortedDict, overlay: SortedDict, lo: bytes, hi: bytes | None, reverse: bool
) -> tuple[list[bytes], bytes | None]:
    """The next keys of the merged view, and the last key this step covered.

    ``None`` as the bound means the step reached the end of ``[lo, hi)``.
    """
    sides = [
        list(islice(d.irange(lo, hi, inclusive=(True, False), reverse=reverse), _CHUNK))
        for d in (base, overlay)
    ]
    cut = [side[-1] for side in sides if len(side) == _CHUNK]
    bound = (max(cut) if reverse else min(cut)) if cut else None
    keys = sorted(set(sides[0]).union(sides[1]), reverse=reverse)
    if bound is not None:
        keys = [k for k in keys if (k >= bound if reverse else k <= bound)]
    return keys, bound
