"""TreeIndex: the Index seam over many keys."""

from __future__ import annotations

import pytest

from kvcore.mvcc.index import Index, TreeIndex
from kvcore.mvcc.key_index import KeyAt
from kvcore.mvcc.revision import Revision as R


@pytest.fixture
def index() -> Index:
    # rev 2: put a, b; rev 3: put c; rev 4: delete b; rev 5: put a; rev 6: put b
    idx = TreeIndex()
    idx.put(b"a", R(2, 0))
    idx.put(b"b", R(2, 1))
    idx.put(b"c", R(3))
    assert idx.tombstone(b"b", R(4))
    idx.put(b"a", R(5))
    idx.put(b"b", R(6))
    return idx


@pytest.mark.parametrize(
    ("key", "end", "at", "limit", "expected"),
    [
        (b"a", None, 6, 0, [(b"a", R(5))]),
        (b"b", None, 4, 0, []),
        (b"b", None, 3, 0, [(b"b", R(2, 1))]),
        (b"a", b"c", 3, 0, [(b"a", R(2)), (b"b", R(2, 1))]),
        (b"a", b"", 4, 0, [(b"a", R(2)), (b"c", R(3))]),
        (b"a", b"", 6, 2, [(b"a", R(5)), (b"b", R(6))]),
        (b"b", b"", 1, 0, []),
        (b"c", b"a", 6, 0, []),
        (b"x", None, 6, 0, []),
    ],
)
def test_range_and_count(
    index: Index,
    key: bytes,
    end: bytes | None,
    at: int,
    limit: int,
    expected: list[tuple[bytes, R]],
) -> None:
    assert index.range(key, end, at, limit) == expected
    if not limit:
        assert index.count(key, end, at) == len(expected)


def test_get(index: Index) -> None:
    assert index.get(b"b", 6) == KeyAt(R(6), R(6), 1)
    assert index.get(b"b", 4) is None
    assert index.get(b"a", 5) == KeyAt(R(5), R(2), 2)
    assert index.get(b"zz", 5) is None


def test_compact_keeps_values_at_the_revision(index: Index) -> None:
    assert index.keep(4) == {R(2), R(3)}
    assert index.compact(4) == {R(2), R(3)}
    assert index.range(b"a", b"", 4) == [(b"a", R(2)), (b"c", R(3))]
    assert index.compact(6) == {R(5), R(3), R(6)}
    assert index.range(b"a", b"", 6) == [(b"a", R(5)), (b"b", R(6)), (b"c", R(3))]


def test_compact_drops_deleted_keys() -> None:
    idx = TreeIndex()
    idx.put(b"k", R(2))
    idx.tombstone(b"k", R(3))
    assert idx.compact(3) == set()
    assert not idx.known(b"k")
    idx.put(b"k", R(4))
    assert idx.get(b"k", 4) == KeyAt(R(4), R(4), 1)


def test_revisions_since(index: Index) -> None:
    assert index.revisions_since(b"a", b"", 4) == [R(4), R(5), R(6)]
    assert index.revisions_since(b"b", None, 1) == [R(2, 1), R(4), R(6)]
