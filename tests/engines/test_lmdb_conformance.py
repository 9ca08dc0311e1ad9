"""The engine conformance suite, run on the LMDB engine."""

import pytest
from kvcore_lmdb import LmdbEngine

from kvcore.testing.engine_conformance import *  # noqa: F403


@pytest.fixture
def engine() -> LmdbEngine:
    return LmdbEngine()
