"""Seeded random request streams on a fresh subject and a fresh etcd, every answer compared.

A failure names its seed; replay it alone with KVCORE_DIFF_SEED=<seed>.
"""

from __future__ import annotations

import os

import pytest
from support.servers import Server

from .random_ops import RandomOps
from .runner import assert_same_answers

pytestmark = pytest.mark.etcd

SEED_VARIABLE = "KVCORE_DIFF_SEED"
STEPS = 300
SEEDS = [int(os.environ[SEED_VARIABLE])] if SEED_VARIABLE in os.environ else [1, 2, 3, 4]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed={seed}")
def test_random_ops_same_answers(seed: int, fresh_subject: Server, fresh_reference: Server) -> None:
    context = f"seed {seed} (replay: {SEED_VARIABLE}={seed}): "
    ran = assert_same_answers(fresh_subject, fresh_reference, RandomOps(seed).steps(STEPS), context)
    assert ran == STEPS
