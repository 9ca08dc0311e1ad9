"""What the example engine's log promises beyond the conformance suite: a torn or
corrupt tail is dropped on open and the next commit follows the last whole record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kvcore.backend import Backend


def commit(backend: Backend, key: bytes) -> None:
    with backend.write() as txn:
        txn.put("one", key, b"value of " + key)
        txn.commit()


def cut_three_bytes(log: Path) -> None:
    log.write_bytes(log.read_bytes()[:-3])


def flip_last_byte(log: Path) -> None:
    data = bytearray(log.read_bytes())
    data[-1] ^= 0xFF
    log.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [cut_three_bytes, flip_last_byte])
def test_damaged_tail_is_dropped_and_appends_follow_the_last_whole_record(
    example_dir: Path, tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    from kvcore_dictlog import DictlogEngine, DictlogOptions
    from kvcore_dictlog.engine import LOG_FILE

    def reopen() -> Backend:
        return DictlogEngine().open(tmp_path, ["one"], DictlogOptions())

    backend = reopen()
    commit(backend, b"a")
    commit(backend, b"b")
    backend.close()
    damage(tmp_path / LOG_FILE)
    backend = reopen()
    with backend.read() as txn:
        assert list(txn.range("one", b"")) == [(b"a", b"value of a")]
    commit(backend, b"c")
    backend.close()
    backend = reopen()
    with backend.read() as txn:
        assert [k for k, _ in txn.range("one", b"")] == [b"a", b"c"]
    backend.close()
