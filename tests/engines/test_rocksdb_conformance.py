"""The engine conformance suite, run on the RocksDB engine."""

import pytest
from kvcore_rocksdb import RocksdbEngine

from kvcore.testing.engine_conformance import *  # noqa: F403


@pytest.fixture
def engine() -> RocksdbEngine:
    return RocksdbEngine()
