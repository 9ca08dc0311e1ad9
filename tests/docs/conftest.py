"""The example engine of docs/writing-an-engine.md, importable as its users would have it."""

from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "docs" / "example-engine"


@pytest.fixture
def example_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    """docs/example-engine, put on sys.path for this test (as if it were installed)."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    return EXAMPLE
