"""Read every bucket's pairs out of a bbolt file (etcd's db, or a snapshot of it)."""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from pathlib import Path

from kvcore.bolt import layout as L


class BoltError(ValueError):
    """Not an intact bbolt file."""


def is_bolt(head: bytes) -> bool:
    """Whether a file's first bytes are a bbolt meta page."""
    if len(head) < L.PAGE_HEADER.size + L.META.size:
        return False
    return L.META.unpack_from(head, L.PAGE_HEADER.size)[0] == L.MAGIC


def records(path: Path, length: int | None = None) -> Iterator[tuple[str, bytes, bytes]]:
    """(bucket, key, value) of every pair of every top-level bucket, in bbolt's order:
    buckets by name, keys in order. ``length`` bytes of the file are read (a snapshot
    file's digest follows them)."""
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        view = memoryview(data)[: length if length is not None else len(data)]
        try:
            yield from _Reader(view).records()
        finally:
            view.release()


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._page_size, root, self._page_count = _meta(data)
        self._root = root

    def records(self) -> Iterator[tuple[str, bytes, bytes]]:
        for flags, name, value in self._tree(self._root):
            if not flags & L.BUCKET_LEAF:
                raise BoltError(f"a value {bytes(name)!r} outside any bucket")
            bucket = bytes(name).decode()
            for flags, key, item in self._bucket(bytes(value)):
                if flags & L.BUCKET_LEAF:
                    raise BoltError(f"bucket {bucket!r} holds a nested bucket")
                yield bucket, bytes(key), bytes(item)

    def _bucket(self, value: bytes) -> Iterator[tuple[int, memoryview, memoryview]]:
        if len(value) < L.BUCKET_HEADER.size:
            raise BoltError("a bucket header is cut short")
        root, _sequence = L.BUCKET_HEADER.unpack_from(value)
        if root == 0:  # inline: a page image follows the header
            yield from _elements(memoryview(value)[L.BUCKET_HEADER.size :])
        else:
            yield from self._tree(root)

    def _tree(self, page_id: int) -> Iterator[tuple[int, memoryview, memoryview]]:
        page = self._page(page_id)
        (_id, flags, _count, _overflow) = L.PAGE_HEADER.unpack_from(page)
        if flags & L.BRANCH_PAGE:
            for child in _children(page):
                yield from self._tree(child)
        elif flags & L.LEAF_PAGE:
            yield from _elements(page)
        else:
            raise BoltError(f"page {page_id} is neither a branch nor a leaf")

    def _page(self, page_id: int) -> memoryview:
        if page_id >= self._page_count:
            raise BoltError(f"page {page_id} is past the end ({self._page_count} pages)")
        start = page_id * self._page_size
        if start + L.PAGE_HEADER.size > len(self._data):
            raise BoltError(f"page {page_id} is past the end of the file")
        overflow = L.PAGE_HEADER.unpack_from(self._data, start)[3]
        return self._data[start : start + (overflow + 1) * self._page_size]


def _meta(data: memoryview) -> tuple[int, int, int]:
    """(page size, root page, page count) of the valid meta with the newest txid."""
    best: tuple[int, int, int, int] | None = None
    offsets = {0, L.PAGE_SIZE}  # the second meta follows a page of the first's size
    if len(data) >= L.PAGE_HEADER.size + L.META.size:
        offsets.add(L.META.unpack_from(data, L.PAGE_HEADER.size)[2])
    for offset in sorted(offsets):
        at = offset + L.PAGE_HEADER.size
        if at + L.META.size + L.CHECKSUM.size > len(data):
            continue
        fields = L.META.unpack_from(data, at)
        magic, version, page_size, _flags, root, _seq, _freelist, count, txid = fields
        (checksum,) = L.CHECKSUM.unpack_from(data, at + L.META.size)
        valid = magic == L.MAGIC and version == L.VERSION and page_size >= 512
        intact = valid and checksum == L.fnv1a64(bytes(data[at : at + L.META.size]))
        if intact and (best is None or txid > best[3]):
            best = (page_size, root, count, txid)
    if best is None:
        raise BoltError("no valid bbolt meta page")
    return best[:3]


def _elements(page: memoryview) -> Iterator[tuple[int, memoryview, memoryview]]:
    count = L.PAGE_HEADER.unpack_from(page)[2]
    for i in range(count):
        at = L.PAGE_HEADER.size + i * L.LEAF_ELEMENT.size
        flags, pos, ksize, vsize = L.LEAF_ELEMENT.unpack_from(page, at)
        start = at + pos
        if start + ksize + vsize > len(page):
            raise BoltError("a leaf element runs past its page")
        yield flags, page[start : start + ksize], page[start + ksize : start + ksize + vsize]


def _children(page: memoryview) -> Iterator[int]:
    count = L.PAGE_HEADER.unpack_from(page)[2]
    for i in range(count):
        at = L.PAGE_HEADER.size + i * L.BRANCH_ELEMENT.size
        yield L.BRANCH_ELEMENT.unpack_from(page, at)[2]
