"""Small durable-file helpers shared by the WAL and the snapshotter."""

from __future__ import annotations

import errno
import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ReadBuffer = bytes | mmap.mmap
_CHUNK = 1 << 20


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


@contextmanager
def mapped(path: Path) -> Iterator[ReadBuffer]:
    """The file's bytes, memory-mapped: a preallocated segment's zeros are never read."""
    with path.open("rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            yield b""  # mmap cannot map an empty file
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def is_zero(data: ReadBuffer, start: int, end: int) -> bool:
    """Whether ``data[start:end]`` is all zero bytes, a bounded chunk at a time."""
    for chunk_start in range(start, end, _CHUNK):
        chunk_end = min(end, chunk_start + _CHUNK)
        if data[chunk_start:chunk_end].count(0) != chunk_end - chunk_start:
            return False
    return True
