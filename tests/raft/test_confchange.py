from __future__ import annotations

from kvcore.raft.confchange import apply_change
from kvcore.raft.types import ConfChange, ConfChangeType, ConfState

ADD, REMOVE, LEARNER = (
    ConfChangeType.ADD_NODE,
    ConfChangeType.REMOVE_NODE,
    ConfChangeType.ADD_LEARNER_NODE,
)


def cs(voters: list[int], learners: list[int] | None = None) -> ConfState:
    return ConfState(voters=voters, learners=learners or [])


def test_add_remove_voters() -> None:
    assert apply_change(cs([1]), ConfChange(ADD, 2)) == cs([1, 2])
    assert apply_change(cs([1, 2]), ConfChange(ADD, 2)) == cs([1, 2])  # idempotent
    assert apply_change(cs([1, 2]), ConfChange(REMOVE, 1)) == cs([2])
    assert apply_change(cs([1, 2]), ConfChange(REMOVE, 9)) == cs([1, 2])


def test_learners_promote_and_demote() -> None:
    c = apply_change(cs([1]), ConfChange(LEARNER, 2))
    assert c == cs([1], [2])
    assert apply_change(c, ConfChange(ADD, 2)) == cs([1, 2])  # promotion
    assert apply_change(c, ConfChange(REMOVE, 2)) == cs([1])
    assert apply_change(cs([1, 2]), ConfChange(LEARNER, 2)) == cs([1], [2])  # demotion


def test_refuses_to_leave_no_voter() -> None:
    assert apply_change(cs([1]), ConfChange(REMOVE, 1)) == cs([1])
    assert apply_change(cs([1]), ConfChange(LEARNER, 1)) == cs([1])
    assert apply_change(cs([1]), ConfChange(ADD, 0)) == cs([1])
