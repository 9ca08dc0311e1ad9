"""The comparison itself: it must notice a difference, or every pass means nothing."""

from __future__ import annotations

import pytest
from support.requests import put, rng
from support.servers import NodeFactory

from .runner import assert_same_answers

pytestmark = pytest.mark.etcd


def test_a_different_answer_fails_at_its_step(nodes: NodeFactory) -> None:
    subject, reference = nodes.start("etcd"), nodes.start("etcd")
    extra = put("extra", "1")
    with subject.client() as client:
        client.ok(extra.method, extra.request)  # the subject is now one revision ahead
    with pytest.raises(AssertionError, match=r"(?s)step 1: Put .*revision: 3.*revision: 2"):
        assert_same_answers(subject, reference, [put("a", "1"), rng("a")])


def test_ids_are_not_compared(nodes: NodeFactory) -> None:
    """Two separate etcd clusters have different cluster and member ids, yet agree."""
    ran = assert_same_answers(nodes.start("etcd"), nodes.start("etcd"), [put("a", "1")])
    assert ran == 1
