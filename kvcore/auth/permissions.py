"""What a user may read and write: the union of its roles' key permissions as sorted,
merged key intervals (etcd's range permission cache).

Keys follow etcd's conventions for a permission and for a request:

* ``range_end`` empty: the single key ``key``;
* ``range_end`` ``b"\\x00"``: every key from ``key`` on (open-ended);
* otherwise the half-open range ``[key, range_end)``.

An interval end of ``None`` stands for "past every key".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kvcore.api.authpb.auth_pb2 import Permission, Role

OPEN_END = b"\x00"

Interval = tuple[bytes, bytes | None]


def interval(key: bytes, range_end: bytes) -> Interval:
    """The keys a (key, range_end) pair names, as [begin, end)."""
    if not range_end:
        return key, key + b"\x00"  # the point: nothing sorts between key and key+\0
    if range_end == OPEN_END:
        return key, None
    return key, range_end


def is_valid_permission_range(key: bytes, range_end: bytes) -> bool:
    """etcd's rule: a key is given, and the range is a point, open-ended, or non-empty."""
    if not key:
        return False
    return not range_end or range_end == OPEN_END or key < range_end


def _end_at_least(end: bytes | None, other: bytes | None) -> bool:
    if end is None:
        return True
    return other is not None and end >= other


class IntervalSet:
    """A union of key intervals, merged so that a covered range lies in one of them."""

    def __init__(self, intervals: Iterable[Interval]) -> None:
        merged: list[list] = []
        for begin, end in sorted(intervals, key=lambda ivl: ivl[0]):
            # Touching intervals merge too: [a, b) and [b, c) cover [a, c).
            if merged and _end_at_least(merged[-1][1], begin):
                if not _end_at_least(merged[-1][1], end):
                    merged[-1][1] = end
            else:
                merged.append([begin, end])
        self._merged: list[Interval] = [(b, e) for b, e in merged]

    def covers(self, ivl: Interval) -> bool:
        begin, end = ivl
        return any(b <= begin and _end_at_least(e, end) for b, e in self._merged)


@dataclass(frozen=True, slots=True)
class UserPermissions:
    read: IntervalSet
    write: IntervalSet

    @classmethod
    def merge(cls, roles: Iterable[Role]) -> UserPermissions:
        read: list[Interval] = []
        write: list[Interval] = []
        for role in roles:
            for perm in role.keyPermission:
                ivl = interval(perm.key, perm.range_end)
                if perm.permType in (Permission.READ, Permission.READWRITE):
                    read.append(ivl)
                if perm.permType in (Permission.WRITE, Permission.READWRITE):
                    write.append(ivl)
        return cls(IntervalSet(read), IntervalSet(write))

    def allows(self, key: bytes, range_end: bytes, perm_type: int) -> bool:
        granted = self.read if perm_type == Permission.READ else self.write
        return granted.covers(interval(key, range_end))
