"""KVApplier (with kv_validate) answers every scenario of ``applier_cases`` as etcd did.

etcd's answers are recorded in ``golden/applier.json`` by ``record_applier_golden.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.normalize import render
from support.requests import Step

from .applier_cases import SCENARIOS
from .inprocess import InProcessKV

GOLDEN = json.loads((Path(__file__).parent / "golden" / "applier.json").read_text())


@pytest.mark.parametrize(("name", "steps"), SCENARIOS, ids=[name for name, _ in SCENARIOS])
def test_answers_like_etcd(name: str, steps: list[Step]) -> None:
    want = GOLDEN[name]
    assert len(want) == len(steps), "golden is stale: re-run record_applier_golden.py"
    kv = InProcessKV()
    for number, (step, expected) in enumerate(zip(steps, want, strict=True), 1):
        got = render(kv.call(step.method, step.request))
        assert got == expected, f"step {number}: {step}"
