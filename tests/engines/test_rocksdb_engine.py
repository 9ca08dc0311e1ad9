"""What the RocksDB engine promises beyond the conformance suite: its options, raw bytes
on disk, releasing the database on close, the space it reports, and its registration."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from kvcore_rocksdb import RocksdbBackend, RocksdbEngine, RocksdbOptions
from rocksdict import Options, Rdict

from kvcore.registry import Registry

BUCKETS = ("one", "two")


def open_backend(path: Path, **options: object) -> RocksdbBackend:
    return RocksdbEngine().open(path, BUCKETS, RocksdbOptions.model_validate(options))


def test_options_defaults_and_sizes_in_words() -> None:
    options = RocksdbOptions()
    assert (options.compression, options.sync, options.max_background_jobs) == ("lz4", True, 2)
    assert RocksdbOptions.model_validate({"write_buffer_size": "8MiB"}).write_buffer_size == 8 << 20


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"write_buffer_size": 0}, "write_buffer_size"),
        ({"compression": "gzip"}, "compression"),
        ({"block_cache_size": "-1"}, "block_cache_size"),
        ({"sync": "maybe"}, "sync"),
        ({"max_background_jobs": 0}, "max_background_jobs"),
        ({"wal_dir": "/tmp"}, "wal_dir"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, object], field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as error:
        RocksdbOptions.model_validate(options)
    assert error.value.errors()[0]["loc"] == (field,)
    assert field in str(error.value)


@pytest.mark.parametrize("compression", ["none", "snappy", "lz4", "zstd"])
def test_every_compression_writes_tables_and_reads_them_back(
    tmp_path: Path, compression: str
) -> None:
    backend = open_backend(tmp_path, compression=compression, sync=False)
    with backend.write() as txn:
        for i in range(500):
            txn.put("one", b"%04d" % i, b"value %d " % i * 20)
        txn.commit()
    backend.defragment()  # flushes the memtable into compressed table files
    backend.close()
    backend = open_backend(tmp_path, compression=compression)
    with backend.read() as txn:
        assert txn.get("one", b"0123") == b"value 123 " * 20
        assert len(list(txn.range("one", b""))) == 500
    backend.close()


def test_keys_and_values_are_stored_raw(tmp_path: Path) -> None:
    backend = open_backend(tmp_path)
    with backend.write() as txn:
        txn.put("two", b"\x00key", b"\xffvalue")
        txn.commit()
    backend.close()
    raw = Options(raw_mode=True)
    db = Rdict(str(tmp_path), raw, column_families={n: raw for n in Rdict.list_cf(str(tmp_path))})
    family = db.get_column_family("two")
    assert list(family.items()) == [(b"\x00key", b"\xffvalue")]  # not pickled
    family.close()
    db.close()


def test_close_releases_the_database_despite_open_readers(tmp_path: Path) -> None:
    backend = open_backend(tmp_path)
    with backend.write() as txn:
        txn.put("one", b"a", b"1")
        txn.put("one", b"b", b"2")
        txn.commit()
    reader = backend.read()
    assert reader.get("one", b"a") == b"1"
    backend.close()
    with pytest.raises(ValueError):
        reader.get("one", b"a")
    backend = open_backend(tmp_path)  # RocksDB's lock is free again
    with backend.read() as txn:
        assert list(txn.range("one", b"")) == [(b"a", b"1"), (b"b", b"2")]
    backend.close()


def test_size_counts_unflushed_writes(tmp_path: Path) -> None:
    backend = open_backend(tmp_path, sync=False)
    empty = backend.size_in_use()
    with backend.write() as txn:
        txn.put("one", b"k", b"x" * 100_000)
        txn.commit()
    assert backend.size_in_use() >= empty + 100_000  # in the WAL, not yet in a table
    assert backend.size() >= backend.size_in_use()
    backend.close()


def test_registered_through_its_entry_point() -> None:
    engine = Registry().engine("rocksdb")
    assert isinstance(engine, RocksdbEngine)
    assert engine.options_model is RocksdbOptions
