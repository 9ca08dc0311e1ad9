"""What the LMDB engine promises beyond the conformance suite: its options, a full map,
the space it reports and gives back, and its registration."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydantic
import pytest
from kvcore_lmdb import LmdbBackend, LmdbEngine, LmdbOptions, MapFullError

from kvcore.registry import Registry

BUCKETS = ("one", "two")
MIB = 1 << 20


def open_backend(path: Path, **options: object) -> LmdbBackend:
    return LmdbEngine().open(path, BUCKETS, LmdbOptions.model_validate(options))


def test_options_defaults_and_sizes_in_words() -> None:
    assert LmdbOptions() == LmdbOptions(map_size=64 << 30, sync=True, max_readers=126)
    assert LmdbOptions.model_validate({"map_size": "2GiB"}).map_size == 2 << 30


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"map_size": 0}, "map_size"),
        ({"map_size": "lots"}, "map_size"),
        ({"sync": "maybe"}, "sync"),
        ({"max_readers": 0}, "max_readers"),
        ({"writemap": True}, "writemap"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, object], field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as error:
        LmdbOptions.model_validate(options)
    assert error.value.errors()[0]["loc"] == (field,)
    assert field in str(error.value)


def test_full_map_aborts_the_txn_with_a_clear_error(tmp_path: Path) -> None:
    backend = open_backend(tmp_path, map_size="1MiB")
    with backend.write() as txn:
        txn.put("one", b"kept", b"1")
        txn.commit()
    with pytest.raises(MapFullError, match="map_size"), backend.write() as txn:
        txn.put("one", b"small", b"2")
        txn.put("one", b"big", b"x" * 2 * MIB)
        txn.commit()
    with backend.write() as txn:  # the store is still usable
        txn.put("two", b"after", b"3")
        txn.commit()
    with backend.read() as txn:
        assert list(txn.range("one", b"")) == [(b"kept", b"1")]
        assert txn.get("two", b"after") == b"3"
    backend.close()


def test_unsynced_commits_are_kept_by_sync_and_close(tmp_path: Path) -> None:
    backend = open_backend(tmp_path, sync=False)
    with backend.write() as txn:
        txn.put("one", b"k", b"v")
        txn.commit()
    backend.sync()
    backend.close()
    backend = open_backend(tmp_path)
    with backend.read() as txn:
        assert txn.get("one", b"k") == b"v"
    backend.close()


def test_space_is_reused_then_given_back_by_defragment(tmp_path: Path) -> None:
    backend = open_backend(tmp_path, sync=False)
    with backend.write() as txn:
        for i in range(2000):
            txn.put("one", b"%05d" % i, b"x" * 1000)
        txn.commit()
    full_size, full_use = backend.size(), backend.size_in_use()
    with backend.write() as txn:
        for i in range(1900):
            txn.delete("one", b"%05d" % i)
        txn.commit()
    assert backend.size() >= full_size  # LMDB never shrinks its file by itself
    assert backend.size_in_use() < full_use / 5
    backend.defragment()
    assert backend.size() < full_size / 5
    assert not (tmp_path / "compact.tmp").exists()
    with backend.read() as txn:
        assert len(list(txn.range("one", b""))) == 100
    backend.close()


def test_an_interrupted_defragment_is_cleaned_up_on_open(tmp_path: Path) -> None:
    open_backend(tmp_path).close()
    (tmp_path / "compact.tmp").mkdir()
    (tmp_path / "compact.tmp" / "data.mdb").write_bytes(b"half a copy")
    open_backend(tmp_path).close()
    assert not (tmp_path / "compact.tmp").exists()


def test_values_handed_out_are_bytes(tmp_path: Path) -> None:
    backend = open_backend(tmp_path)
    with backend.write() as txn:
        txn.put("one", b"k", b"v")
        txn.commit()
    with backend.read() as txn:
        pairs = list(txn.range("one", b""))
        value = txn.get("one", b"k")
    assert type(pairs[0][0]) is type(pairs[0][1]) is type(value) is bytes
    assert pairs == [(b"k", b"v")]  # still readable after the txn ended
    backend.close()


def test_registered_through_its_entry_point() -> None:
    engine = Registry().engine("lmdb")
    assert isinstance(engine, LmdbEngine)
    assert engine.options_model is LmdbOptions


def test_write_txn_ending_on_another_thread_raises_instead_of_hanging(tmp_path: Path) -> None:
    backend = open_backend(tmp_path)
    txn = backend.write()
    txn.put("one", b"k", b"v")
    with ThreadPoolExecutor(1) as other, pytest.raises(RuntimeError, match="thread"):
        other.submit(txn.commit).result()
    txn.commit()
    with backend.write() as txn:  # the writer lock was released
        txn.put("one", b"k2", b"v")
        txn.commit()
    backend.close()
