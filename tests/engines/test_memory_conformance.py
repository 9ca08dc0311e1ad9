"""The engine conformance suite, run on the memory engine."""

import pytest
from kvcore_memory import MemoryEngine

from kvcore.testing.engine_conformance import *  # noqa: F403


@pytest.fixture
def engine() -> MemoryEngine:
    return MemoryEngine()
