"""The on-disk structures of a bbolt file (go.etcd.io/bbolt: page.go, db.go, bucket.go).

A file is a sequence of pages. Pages 0 and 1 hold the meta (the one with the higher
transaction id wins); the meta names the freelist page and the root bucket's page.
A bucket is a B+tree: branch pages list (first key, child page), leaf pages list (key,
value). A leaf value flagged as a bucket holds that bucket's root page id and sequence;
a root of 0 means the bucket is inline: a page image follows in the value. A node
larger than a page takes ``overflow`` more pages after its own. Integers are
little-endian (bbolt writes its structs as they lie in memory on the usual hosts).
"""

from __future__ import annotations

import struct

PAGE_SIZE = 4096
MAGIC = 0xED0CDAED
VERSION = 2

BRANCH_PAGE = 0x01
LEAF_PAGE = 0x02
META_PAGE = 0x04
FREELIST_PAGE = 0x10
BUCKET_LEAF = 0x01  # a leaf element whose value is a bucket

PAGE_HEADER = struct.Struct("<QHHI")  # id, flags, count, overflow
LEAF_ELEMENT = struct.Struct("<IIII")  # flags, pos, ksize, vsize
BRANCH_ELEMENT = struct.Struct("<IIQ")  # pos, ksize, page id
BUCKET_HEADER = struct.Struct("<QQ")  # root page id, sequence
# magic, version, page size, flags, root bucket (root, sequence), freelist, page count,
# transaction id; the checksum (FNV-1a 64 of these bytes) follows.
META = struct.Struct("<IIIIQQQQQ")
CHECKSUM = struct.Struct("<Q")

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3


def fnv1a64(data: bytes) -> int:
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h
