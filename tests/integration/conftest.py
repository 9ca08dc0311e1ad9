"""Pairs of (subject, etcd) for etcdctl comparisons."""

from __future__ import annotations

import pytest
from support.servers import Server

from .compare import Pair


@pytest.fixture
def pair(shared_subject: Server, shared_reference: Server) -> Pair:
    """Servers shared by the module: keep to the test's own key prefix."""
    return Pair(shared_subject, shared_reference)


@pytest.fixture
def fresh_pair(fresh_subject: Server, fresh_reference: Server) -> Pair:
    """Empty servers, for what acts on the whole store (compaction)."""
    return Pair(fresh_subject, fresh_reference)
