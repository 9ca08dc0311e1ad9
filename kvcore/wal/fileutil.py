"""Small durable-file helpers shared by the WAL and the snapshotter."""

from __future__ import annotations

import errno
import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a create, rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def preallocate(fd: int, size: int) -> None:
    """Reserve ``size`` bytes so later writes need no block allocation (best effort).

    Preallocated space reads as zeros, which the segment reader takes as the end of
    the records.
    """
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as e:
        # Some filesystems (tmpfs on old kernels, some FUSE) cannot; writes still work.
        if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise


def is_zero(data: bytes, start: int, end: int) -> bool:
    """Whether ``data[start:end]`` is all zero bytes, without copying it."""
    return data.count(0, start, end) == end - start
