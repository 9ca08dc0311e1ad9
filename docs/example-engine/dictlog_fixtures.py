"""The fixture kvcore's engine conformance suite asks for, for dictlog.

python -m pytest --pyargs kvcore.testing.engine_conformance -p dictlog_fixtures
"""

import pytest
from kvcore_dictlog import DictlogEngine


@pytest.fixture
def engine() -> DictlogEngine:
    return DictlogEngine()
