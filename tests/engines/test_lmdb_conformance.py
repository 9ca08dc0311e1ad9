"""The engine conformance suite, run on the LMDB engine with ``sync`` on and off."""

import pytest
from kvcore_lmdb import LmdbEngine, LmdbOptions

from kvcore.testing.engine_conformance import *  # noqa: F403


@pytest.fixture
def engine() -> LmdbEngine:
    return LmdbEngine()


@pytest.fixture(params=[True, False], ids=["sync", "nosync"])
def engine_options(request: pytest.FixtureRequest) -> LmdbOptions:
    return LmdbOptions(sync=request.param)


@pytest.fixture
def commit_survives_kill() -> bool:
    return True  # a returned commit is in the OS's page cache, fsynced or not
