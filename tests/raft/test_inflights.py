from __future__ import annotations

import pytest

from kvcore.raft.inflights import Inflights
from kvcore.raft.progress import Progress, ProgressState


def test_inflights_bound_and_free() -> None:
    f = Inflights(3)
    for i in (2, 4, 6):
        f.add(i)
    assert f.full()
    with pytest.raises(OverflowError):
        f.add(8)
    f.free_le(4)
    assert f.count() == 1 and not f.full()
    f.free_le(3)  # stale ack frees nothing more
    assert f.count() == 1
    f.free_first_one()
    assert f.count() == 0
    f.free_first_one()  # empty is fine


def test_inflights_reject_decreasing_and_reset() -> None:
    f = Inflights(4)
    f.add(5)
    with pytest.raises(ValueError):
        f.add(4)
    f.reset()
    f.add(1)
    assert f.count() == 1


def test_progress_probe_pauses_until_ack() -> None:
    pr = Progress(next_index=5, max_inflight=2)
    assert pr.state == ProgressState.PROBE and not pr.is_paused()
    pr.probe_sent = True
    assert pr.is_paused()
    assert pr.maybe_update(4)
    assert not pr.is_paused() and pr.next == 5


def test_progress_decr_to() -> None:
    pr = Progress(next_index=10, max_inflight=2)
    assert not pr.maybe_decr_to(5, 5)  # stale: not the index we probed
    assert pr.maybe_decr_to(9, 3)
    assert pr.next == 4
    pr.match = 3
    pr.become_replicate()
    pr.optimistic_update(8)
    assert not pr.maybe_decr_to(2, 0)  # below match: stale
    assert pr.maybe_decr_to(7, 0) and pr.next == 4


def test_progress_replicate_pauses_when_inflights_full() -> None:
    pr = Progress(next_index=1, max_inflight=2)
    pr.become_replicate()
    pr.inflights.add(1)
    pr.inflights.add(2)
    assert pr.is_paused()
    pr.maybe_update(2)
    pr.inflights.free_le(2)
    assert not pr.is_paused()


def test_progress_snapshot_then_probe() -> None:
    pr = Progress(next_index=3, max_inflight=2)
    pr.become_snapshot(20)
    assert pr.is_paused()
    pr.become_probe()
    assert pr.next == 21  # the follower has the snapshot (reported ok)
