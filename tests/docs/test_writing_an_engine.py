"""docs/writing-an-engine.md quotes the example engine: every code block that starts
with a ``# docs/example-engine/<file>`` line must appear, below that line, verbatim in
that file, so the doc cannot drift from code the tests run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "writing-an-engine.md"
BLOCK = re.compile(r"^```[a-z]*\n(.*?)^```$", re.MULTILINE | re.DOTALL)
QUOTE = re.compile(r"# (docs/example-engine/\S+)\n")


def quoted_blocks() -> list[tuple[str, str]]:
    """(file, quoted text) of every code block that names its file on its first line."""
    blocks = []
    for body in BLOCK.findall(DOC.read_text()):
        head = QUOTE.match(body)
        if head:
            blocks.append((head.group(1), body[head.end() :]))
    return blocks


def test_quoted_code_is_verbatim_from_the_example() -> None:
    blocks = quoted_blocks()
    quoted_files = {name for name, _ in blocks}
    assert {
        "docs/example-engine/pyproject.toml",
        "docs/example-engine/dictlog_fixtures.py",
        "docs/example-engine/kvcore_dictlog/__init__.py",
        "docs/example-engine/kvcore_dictlog/engine.py",
        "docs/example-engine/kvcore_dictlog/txn.py",
        "docs/example-engine/kvcore_dictlog/log.py",
    } <= quoted_files
    for name, text in blocks:
        assert text in (ROOT / name).read_text(), f"the doc's quote of {name} is stale"
