"""Write a bbolt file from a backend's buckets, bottom-up, one pass, pages in order.

Each bucket's pairs fill leaf pages in key order; the pages' first keys then fill
branch pages, level by level, up to one root. The root bucket (one leaf listing every
bucket) comes last, then the freelist (empty: every page is in use) and the two metas
are written into the pages kept free for them at the start. So the output must be
seekable: a file, spooled before it is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import BinaryIO, TypeVar

from kvcore.backend import ReadTxn
from kvcore.bolt import layout as L

_FIRST_DATA_PAGE = 3  # 0 and 1: metas, 2: freelist
_T = TypeVar("_T")


def write(txn: ReadTxn, buckets: Sequence[str], out: BinaryIO) -> int:
    """Write ``buckets`` as ``txn`` sees them to ``out`` (at offset 0); returns the size."""
    pages = _Pages(out)
    roots: list[tuple[bytes, bytes]] = []
    for name in sorted(bucket.encode() for bucket in buckets):
        root = pages.tree(txn.range(name.decode(), b""))
        roots.append((name, L.BUCKET_HEADER.pack(root, 0)))
    root = pages.node(L.LEAF_PAGE, leaf_body(roots, L.BUCKET_LEAF), len(roots))
    count = pages.next_id
    out.seek(2 * L.PAGE_SIZE)
    out.write(_page(2, L.FREELIST_PAGE, 0, b""))
    for page_id in (0, 1):
        meta = L.META.pack(
            L.MAGIC, L.VERSION, L.PAGE_SIZE, 0, root, 0, 2, count, page_id + 1
        )
        body = meta + L.CHECKSUM.pack(L.fnv1a64(meta))
        out.seek(page_id * L.PAGE_SIZE)
        out.write(_page(page_id, L.META_PAGE, 0, body))
    out.seek(count * L.PAGE_SIZE)
    out.truncate()
    return count * L.PAGE_SIZE


class _Pages:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.next_id = _FIRST_DATA_PAGE
        out.seek(_FIRST_DATA_PAGE * L.PAGE_SIZE)

    def tree(self, pairs: Iterable[tuple[bytes, bytes]]) -> int:
        """Write one bucket's B+tree; returns its root page id."""
        # (first key, page id) of each node of the level just written; an empty bucket
        # is one empty leaf.
        level = [
            (batch[0][0] if batch else b"", self.node(L.LEAF_PAGE, leaf_body(batch), len(batch)))
            for batch in _runs(pairs, _leaf_bytes, least=1)
        ]
        while len(level) > 1:
            # Two children at least, as bbolt keeps, however long the keys (the node
            # then takes overflow pages): each level has half the nodes of the one below.
            level = [
                (batch[0][0], self.node(L.BRANCH_PAGE, _branch(batch), len(batch)))
                for batch in _runs(level, _branch_bytes, least=2)
            ]
        return level[0][1]

    def node(self, flags: int, body: bytes, count: int) -> int:
        """Append a node (one page, or more with overflow); returns its page id."""
        page_id = self.next_id
        pages = -(-(L.PAGE_HEADER.size + len(body)) // L.PAGE_SIZE)
        self._out.write(_page(page_id, flags, count, body, overflow=pages - 1))
        self.next_id += pages
        return page_id


def _page(page_id: int, flags: int, count: int, body: bytes, overflow: int = 0) -> bytes:
    data = L.PAGE_HEADER.pack(page_id, flags, count, overflow) + body
    return data + bytes(-len(data) % L.PAGE_SIZE)


def _runs(items: Iterable[_T], size: Callable[[_T], int], least: int) -> Iterator[list[_T]]:
    """``items`` cut into runs that each fill a page (header, element headers, bytes),
    with at least ``least`` items to a run however large they are; one empty run if
    there are no items."""
    batch: list[_T] = []
    used = L.PAGE_HEADER.size
    for item in items:
        need = size(item)
        if len(batch) >= least and used + need > L.PAGE_SIZE:
            yield batch
            batch, used = [], L.PAGE_HEADER.size
        batch.append(item)
        used += need
    yield batch


def _leaf_bytes(pair: tuple[bytes, bytes]) -> int:
    return L.LEAF_ELEMENT.size + len(pair[0]) + len(pair[1])


def _branch_bytes(child: tuple[bytes, int]) -> int:
    return L.BRANCH_ELEMENT.size + len(child[0])


def leaf_body(pairs: Sequence[tuple[bytes, bytes]], flags: int = 0) -> bytes:
    """A leaf page after its header: element headers (each flagged ``flags``), then each
    key and value; ``pos`` counts from the element."""
    heads, data = bytearray(), bytearray()
    first_data = len(pairs) * L.LEAF_ELEMENT.size
    for i, (key, value) in enumerate(pairs):
        pos = first_data + len(data) - i * L.LEAF_ELEMENT.size
        heads += L.LEAF_ELEMENT.pack(flags, pos, len(key), len(value))
        data += key
        data += value
    return bytes(heads + data)


def _branch(children: list[tuple[bytes, int]]) -> bytes:
    heads, data = bytearray(), bytearray()
    first_data = len(children) * L.BRANCH_ELEMENT.size
    for i, (key, child) in enumerate(children):
        pos = first_data + len(data) - i * L.BRANCH_ELEMENT.size
        heads += L.BRANCH_ELEMENT.pack(pos, len(key), child)
        data += key
    return bytes(heads + data)
