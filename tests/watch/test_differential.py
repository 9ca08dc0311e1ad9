"""kvcore answers every watch scenario exactly as etcd does (ids aside)."""

from __future__ import annotations

import pytest
from support.servers import NodeFactory

from .cases import SCENARIOS
from .script import record

pytestmark = [pytest.mark.etcd, pytest.mark.kvcore]


def test_watch_scenarios_answered_as_etcd(nodes: NodeFactory) -> None:
    """All scenarios in one pair of fresh servers: each starts at the same revision on
    both, so revisions compare as they are."""
    ours, theirs = nodes.start("kvcore"), nodes.start("etcd")
    for name, steps in SCENARIOS:
        got, want = record(ours.endpoint, steps), record(theirs.endpoint, steps)
        assert got == want, (
            f"scenario {name}:\n--- kvcore:\n"
            + "\n".join(got)
            + ("\n--- etcd:\n" + "\n".join(want))
        )
