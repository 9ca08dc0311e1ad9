"""KeyIndex: generations, get at a revision, since, compaction and keep."""

from __future__ import annotations

import pytest

from kvcore.mvcc.key_index import KeyAt, KeyIndex
from kvcore.mvcc.revision import Revision as R


def build(ops: str) -> KeyIndex:
    """``"p1 p2 t3"``: put at 1.0, put at 2.0, tombstone at 3.0 (``p4.1``: sub 1)."""
    ki = KeyIndex(b"foo")
    for op in ops.split():
        main, _, sub = op[1:].partition(".")
        rev = R(int(main), int(sub or 0))
        if op[0] == "p":
            ki.put(rev)
        else:
            assert ki.tombstone(rev)
    return ki


def shape(ki: KeyIndex) -> list[list[R]]:
    return [g.revs for g in ki.generations]


# etcd's worked example: put(1.0); put(2.0); tombstone(3.0); put(4.0); tombstone(5.0).
EXAMPLE = "p1 p2 t3 p4 t5"


def test_example_generations() -> None:
    ki = build(EXAMPLE)
    assert shape(ki) == [[R(1), R(2), R(3)], [R(4), R(5)], []]
    assert [(g.created, g.version) for g in ki.generations[:2]] == [(R(1), 3), (R(4), 2)]


@pytest.mark.parametrize(
    ("at", "generations", "available", "empty"),
    [
        (1, [[R(1), R(2), R(3)], [R(4), R(5)], []], {R(1)}, False),
        (2, [[R(2), R(3)], [R(4), R(5)], []], {R(2)}, False),
        (3, [[R(4), R(5)], []], set(), False),
        (4, [[R(4), R(5)], []], {R(4)}, False),
        (5, [[]], set(), True),
        (6, [[]], set(), True),
    ],
)
def test_example_compaction(
    at: int, generations: list[list[R]], available: set[R], empty: bool
) -> None:
    ki = build(EXAMPLE)
    kept: set[R] = set()
    ki.keep(at, kept)
    assert shape(ki) == [[R(1), R(2), R(3)], [R(4), R(5)], []]  # keep changes nothing
    compacted: set[R] = set()
    ki.compact(at, compacted)
    assert shape(ki) == generations
    assert compacted == kept == available
    assert ki.is_empty() is empty


def test_compaction_in_steps_equals_at_once() -> None:
    ops = "p2 p4 t6 p8 p10 t12 p14 p14.1 p16"
    for final in range(1, 18):
        at_once, stepped = build(ops), build(ops)
        at_once.compact(final, set())
        for at in range(1, final + 1):
            stepped.compact(at, set())
        assert shape(stepped) == shape(at_once), final
        for rev in range(final, 18):
            assert stepped.get(rev) == build(ops).get(rev), (final, rev)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (0, None),
        (1, KeyAt(R(1), R(1), 1)),
        (2, KeyAt(R(2), R(1), 2)),
        (3, None),
        (4, KeyAt(R(4), R(4), 1)),
        (5, None),
        (100, None),
    ],
)
def test_get(at: int, expected: KeyAt | None) -> None:
    assert build(EXAMPLE).get(at) == expected
    assert build(EXAMPLE).exists(at) is (expected is not None)


def test_get_live_key_and_sub_revisions() -> None:
    ki = build("p2 p3 p3.1 p5")
    assert ki.get(3) == KeyAt(R(3, 1), R(2), 3)
    assert ki.get(5) == ki.get(9) == KeyAt(R(5), R(2), 4)
    assert ki.exists(1) is False
    assert ki.exists(9) is True


def test_restore_then_put() -> None:
    ki = KeyIndex(b"k")
    ki.restore(R(2), R(7), 4)
    ki.put(R(9))
    assert ki.get(7) == KeyAt(R(7), R(2), 4)
    assert ki.get(9) == KeyAt(R(9), R(2), 5)
    assert ki.get(6) is None


def test_since_keeps_last_of_each_main_revision() -> None:
    ki = build("p2 p3 p3.1 t4 p5")
    assert ki.since(3) == [R(3, 1), R(4), R(5)]
    assert ki.since(1) == [R(2), R(3, 1), R(4), R(5)]
    assert ki.since(6) == []


def test_put_must_move_forward() -> None:
    ki = build("p5")
    with pytest.raises(ValueError):
        ki.put(R(5))
    with pytest.raises(ValueError):
        ki.put(R(4, 9))


def test_tombstone_of_deleted_key_changes_nothing() -> None:
    ki = build("p1 t2")
    assert not ki.tombstone(R(3))
    assert shape(ki) == [[R(1), R(2)], []]
