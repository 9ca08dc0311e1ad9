"""Torn tails are cut on open; damage before the tail is reported with file and offset."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from kvcore.raft.types import Entry, HardState
from kvcore.wal import WAL, WalCorruptError
from kvcore.wal.record import SegmentReader


def entry(index: int, size: int = 20) -> Entry:
    return Entry(1, index, data=random.Random(index).randbytes(size))


def record_offsets(path: Path) -> tuple[list[int], int]:
    """The offsets of a segment's records and the end of the last one."""
    reader = SegmentReader(path.read_bytes())
    offsets = [record.offset for record in reader]
    return offsets, reader.end


def only_segment(directory: Path) -> Path:
    (path,) = directory.glob("*.wal")
    return path


SEGMENT = 64 * 1024
LAST = entry(4, size=61)  # a length that needs padding


@pytest.fixture
def four_batches(tmp_path: Path) -> Path:
    """A WAL of four saves; the last is the single record of entry 4."""
    d = tmp_path / "base"
    with WAL.create(d, b"m", segment_size=SEGMENT) as wal:
        for i in range(1, 4):
            wal.save(HardState(1, 1, i - 1), [entry(i)])
        wal.save(None, [LAST])
    return d


def patched_copy(src: Path, dst: Path, offset: int, patch: bytes) -> Path:
    """A copy of the WAL ``src`` with ``patch`` written over its segment at ``offset``."""
    shutil.copytree(src, dst)
    with open(only_segment(dst), "r+b") as f:
        f.seek(offset)
        f.write(patch)
    return dst


@pytest.mark.parametrize("how", ["truncate", "zero", "garbage"])
def test_torn_last_record_is_cut_at_every_offset(
    four_batches: Path, tmp_path: Path, how: str
) -> None:
    segment = only_segment(four_batches)
    offsets, end = record_offsets(segment)
    start = offsets[-1]
    pad = segment.read_bytes()[start + 7]  # the top byte of the length word
    assert pad > 0 and end - start > 64
    noise = random.Random(7).randbytes(end - start)
    # Garbage in the length word is not what a torn write leaves: it is never torn.
    for cut in range(start + 8 if how == "garbage" else start, end):
        data = bytearray(segment.read_bytes())
        if how == "truncate":
            del data[cut:]
        else:
            data[cut:end] = bytes(end - cut) if how == "zero" else noise[cut - start :]
        d = tmp_path / f"{how}-{cut}"
        d.mkdir()
        (d / segment.name).write_bytes(data)
        whole = how != "truncate" and cut >= end - pad  # only the padding was hit
        with WAL.open(d, segment_size=SEGMENT) as wal:
            got = wal.read_all()
            assert got.entries == [entry(1), entry(2), entry(3), *([LAST] if whole else [])], cut
            assert got.hard_state == HardState(1, 1, 2)
            if cut % 5 == 0:
                wal.save(None, [entry(4, size=9)])  # appending after the repair works
        if cut % 5 == 0:
            with WAL.open(d, segment_size=SEGMENT) as wal:
                assert wal.read_all().entries[-1] == entry(4, size=9)


def test_intact_tail_is_kept(four_batches: Path) -> None:
    with WAL.open(four_batches, segment_size=SEGMENT) as wal:
        assert wal.read_all().entries == [entry(1), entry(2), entry(3), LAST]


def test_flipped_byte_in_the_middle_names_file_and_offset(
    four_batches: Path, tmp_path: Path
) -> None:
    offsets, _ = record_offsets(only_segment(four_batches))
    victim = offsets[-4]  # entry 2, with later records after it
    byte = only_segment(four_batches).read_bytes()[victim + 20]
    d = patched_copy(four_batches, tmp_path / "flip", victim + 20, bytes([byte ^ 0x40]))
    with pytest.raises(WalCorruptError) as info:
        WAL.open(d, segment_size=SEGMENT)
    assert info.value.offset == victim
    assert info.value.path == only_segment(d)
    assert str(only_segment(d)) in str(info.value)
    assert f"offset {victim}" in str(info.value)


def test_garbage_length_word_in_the_middle_is_corruption(
    four_batches: Path, tmp_path: Path
) -> None:
    offsets, _ = record_offsets(only_segment(four_batches))
    victim = offsets[3]
    # An impossible padding count in the top byte of the length word.
    d = patched_copy(four_batches, tmp_path / "word", victim + 7, b"\x55")
    with pytest.raises(WalCorruptError, match=f"offset {victim}: invalid length word"):
        WAL.open(d, segment_size=SEGMENT)


def test_corruption_in_a_sealed_segment_is_never_cut(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m", segment_size=2048) as wal:
        for i in range(1, 200):
            wal.save(None, [entry(i)])
    first = sorted(d.glob("*.wal"))[0]
    offsets, end = record_offsets(first)
    # The last record of a sealed segment: nothing follows it in that file.
    with open(first, "r+b") as f:
        f.seek(offsets[-1] + 17)
        f.write(b"\xff")
    with pytest.raises(WalCorruptError) as info:
        WAL.open(d, segment_size=SEGMENT)
    assert (info.value.path, info.value.offset) == (first, offsets[-1])
    os.truncate(first, end - 3)
    with pytest.raises(WalCorruptError, match="runs past the end"):
        WAL.open(d, segment_size=SEGMENT)


def test_unwritten_sector_inside_the_last_batch_is_torn(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m", segment_size=SEGMENT) as wal:
        wal.save(None, [entry(1)])
        wal.save(None, [entry(i, size=1500) for i in range(2, 5)])
    offsets, _ = record_offsets(only_segment(d))
    batch = offsets[-3]
    sector = (batch // 512 + 2) * 512  # inside entry 2, with entries 3 and 4 after it
    with open(only_segment(d), "r+b") as f:
        f.seek(sector)
        f.write(bytes(512))
    with WAL.open(d, segment_size=SEGMENT) as wal:
        assert wal.read_all().entries == [entry(1)]


def test_zero_length_word_ends_the_last_segment(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    with WAL.create(d, b"m", segment_size=SEGMENT) as wal:
        for i in range(1, 5):
            wal.save(None, [entry(i)])
    offsets, _ = record_offsets(only_segment(d))
    with open(only_segment(d), "r+b") as f:
        f.seek(offsets[-2])  # entry 3's length word never reached the disk; 4's did
        f.write(bytes(8))
    with WAL.open(d, segment_size=SEGMENT) as wal:
        assert wal.read_all().entries == [entry(1), entry(2)]
        wal.save(None, [entry(3)])
    with WAL.open(d, segment_size=SEGMENT) as wal:
        assert wal.read_all().entries == [entry(1), entry(2), entry(3)]
