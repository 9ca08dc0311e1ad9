"""Revision bytes: layout, order, tombstone marker."""

from __future__ import annotations

import pytest

from kvcore.mvcc.revision import Revision, is_tombstone


@pytest.mark.parametrize(
    ("rev", "tombstone", "encoded"),
    [
        (Revision(0, 0), False, bytes(8) + b"_" + bytes(8)),
        (Revision(5, 1), False, bytes.fromhex("0000000000000005 5f 0000000000000001")),
        (Revision(5, 1), True, bytes.fromhex("0000000000000005 5f 0000000000000001 74")),
        (Revision(2**63 - 1, 2**63 - 1), False, b"\x7f" + b"\xff" * 7 + b"_\x7f" + b"\xff" * 7),
        (Revision(256), False, bytes.fromhex("0000000000000100 5f 0000000000000000")),
    ],
)
def test_encoding(rev: Revision, tombstone: bool, encoded: bytes) -> None:
    assert rev.to_bytes(tombstone) == encoded
    assert Revision.from_bytes(encoded) == rev
    assert is_tombstone(encoded) is tombstone


def test_byte_order_is_revision_order() -> None:
    revs = [Revision(m, s) for m in (1, 2, 255, 256, 65536) for s in (0, 1, 255, 256)]
    assert sorted(revs, key=Revision.to_bytes) == sorted(revs)
    assert Revision(3, 2).to_bytes() < Revision(3, 2).to_bytes(True) < Revision(3, 3).to_bytes()


@pytest.mark.parametrize("data", [b"", bytes(16), bytes(19)])
def test_bad_length(data: bytes) -> None:
    with pytest.raises(ValueError):
        Revision.from_bytes(data)
    assert not is_tombstone(data)
