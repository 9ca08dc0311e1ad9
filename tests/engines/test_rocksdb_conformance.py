"""The engine conformance suite, run on the RocksDB engine with ``sync`` on and off."""

import pytest
from kvcore_rocksdb import RocksdbEngine, RocksdbOptions

from kvcore.testing.engine_conformance import *  # noqa: F403


@pytest.fixture
def engine() -> RocksdbEngine:
    return RocksdbEngine()


@pytest.fixture(params=[True, False], ids=["sync", "nosync"])
def engine_options(request: pytest.FixtureRequest) -> RocksdbOptions:
    return RocksdbOptions(sync=request.param)


@pytest.fixture
def commit_survives_kill() -> bool:
    return True  # a returned commit is in RocksDB's WAL in the OS, fsynced or not
