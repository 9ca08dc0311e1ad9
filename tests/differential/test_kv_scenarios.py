"""Scripted request sequences, each on a fresh subject and a fresh etcd, answers compared.

The scenarios live in the ``cases_*`` modules as data; this module only runs them.
"""

from __future__ import annotations

import pytest
from support.requests import Step
from support.servers import Server

from . import cases_compact, cases_errors, cases_hash, cases_range, cases_txn, cases_write
from .runner import assert_same_answers

pytestmark = pytest.mark.etcd

SCENARIOS = [
    pytest.param(steps, id=name)
    for module in (cases_range, cases_write, cases_txn, cases_compact, cases_errors, cases_hash)
    for name, steps in module.SCENARIOS
]


@pytest.mark.parametrize("steps", SCENARIOS)
def test_same_answers_as_etcd(
    steps: list[Step], fresh_subject: Server, fresh_reference: Server
) -> None:
    assert_same_answers(fresh_subject, fresh_reference, steps)
