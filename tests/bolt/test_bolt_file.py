"""kvcore.bolt: a file written from buckets reads back the same, in any shape of tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kvcore_memory.engine import MemoryEngine, MemoryOptions

from kvcore import schema
from kvcore.bolt import layout as L
from kvcore.bolt import reader, writer


def _backend(pairs: dict[str, dict[bytes, bytes]]):
    backend = MemoryEngine().open(Path("."), schema.ALL_BUCKETS, MemoryOptions())
    with backend.write() as txn:
        for bucket, items in pairs.items():
            for key, value in items.items():
                txn.put(bucket, key, value)
        txn.commit()
    return backend


def _round_trip(tmp_path: Path, pairs: dict[str, dict[bytes, bytes]]) -> dict[str, dict]:
    path = tmp_path / "db"
    backend = _backend(pairs)
    with backend.read() as txn, path.open("w+b") as out:
        size = writer.write(txn, schema.ALL_BUCKETS, out)
    assert size == path.stat().st_size and size % L.PAGE_SIZE == 0
    got: dict[str, dict[bytes, bytes]] = {}
    for bucket, key, value in reader.records(path):
        got.setdefault(bucket, {})[key] = value
    return got


@pytest.mark.parametrize(
    "pairs",
    [
        pytest.param({}, id="empty"),
        pytest.param({"meta": {b"a": b"1"}}, id="one-pair"),
        # ~40 pairs a leaf: a few thousand leaves under two levels of branches.
        pytest.param({"key": {b"%08d" % i: b"v" * 50 for i in range(120_000)}}, id="deep"),
        pytest.param(
            {"key": {b"a": b"x" * (1 << 20), b"b": b"", b"c": os.urandom(5000)}}, id="overflow"
        ),
        pytest.param(
            {"lease": {bytes([i]): bytes([i]) * i for i in range(256)}, "alarm": {b"\0": b""}},
            id="binary",
        ),
    ],
)
def test_what_is_written_reads_back(tmp_path: Path, pairs: dict) -> None:
    assert _round_trip(tmp_path, pairs) == {b: v for b, v in pairs.items() if v}


def test_a_long_key_fills_a_branch_page_alone(tmp_path: Path) -> None:
    pairs = {"authUsers": {b"%05d" % i + b"u" * 3000: b"p" for i in range(40)}}
    assert _round_trip(tmp_path, pairs) == pairs


def test_an_inline_bucket_is_read(tmp_path: Path) -> None:
    """bbolt keeps a small bucket inside its parent's leaf; etcd's files have them."""
    inline = L.PAGE_HEADER.pack(0, L.LEAF_PAGE, 1, 0) + writer.leaf_body([(b"k", b"v")])
    value = L.BUCKET_HEADER.pack(0, 0) + inline
    root = writer.leaf_body([(b"meta", value)], L.BUCKET_LEAF)
    path = tmp_path / "db"
    meta = L.META.pack(L.MAGIC, L.VERSION, L.PAGE_SIZE, 0, 3, 0, 2, 4, 1)
    pages = [
        L.PAGE_HEADER.pack(0, L.META_PAGE, 0, 0) + meta + L.CHECKSUM.pack(L.fnv1a64(meta)),
        b"",  # a torn second meta: the first is used
        L.PAGE_HEADER.pack(2, L.FREELIST_PAGE, 0, 0),
        L.PAGE_HEADER.pack(3, L.LEAF_PAGE, 1, 0) + root,
    ]
    path.write_bytes(b"".join(p.ljust(L.PAGE_SIZE, b"\0") for p in pages))
    assert list(reader.records(path)) == [("meta", b"k", b"v")]


def test_what_is_not_bolt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk"
    path.write_bytes(os.urandom(3 * L.PAGE_SIZE))
    assert not reader.is_bolt(path.read_bytes())
    with pytest.raises(reader.BoltError, match="meta"):
        list(reader.records(path))

