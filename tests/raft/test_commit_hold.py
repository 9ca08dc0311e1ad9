"""A leader's commit-only messages wait briefly for an append that carries the index."""

from __future__ import annotations

import asyncio

from kvcore.raft.commit_hold import CommitHold
from kvcore.raft.messages import Message, MessageType

HOLD = 0.05


def _commit(to: int, commit: int) -> Message:
    return Message(MessageType.COMMIT, to=to, frm=1, term=2, commit=commit)


def _append(to: int, commit: int) -> Message:
    return Message(MessageType.APP, to=to, frm=1, term=2, commit=commit)


def _run(scenario) -> list[tuple[float, list[Message]]]:
    """The batches `scenario(hold)` sent, each with the seconds since it started."""
    sent: list[tuple[float, list[Message]]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        hold = CommitHold(
            lambda batch: sent.append((loop.time() - started, batch)), HOLD, loop.call_later
        )
        await scenario(hold)
        hold.close()

    asyncio.run(main())
    return sent


def test_a_commit_alone_goes_out_after_the_hold() -> None:
    async def scenario(hold: CommitHold) -> None:
        hold.send([_commit(2, 7)])
        await asyncio.sleep(HOLD * 3)

    [(at, batch)] = _run(scenario)
    assert batch == [_commit(2, 7)]
    assert at >= HOLD * 0.9


def test_an_append_carrying_the_index_replaces_the_commit() -> None:
    async def scenario(hold: CommitHold) -> None:
        hold.send([_commit(2, 7), _commit(3, 7)])
        hold.send([_append(2, 7)])  # follower 2 learns 7 from it; 3 still waits
        await asyncio.sleep(HOLD * 3)

    sent = _run(scenario)
    assert [batch for _, batch in sent] == [[_append(2, 7)], [_commit(3, 7)]]


def test_an_append_with_an_older_index_does_not() -> None:
    async def scenario(hold: CommitHold) -> None:
        hold.send([_commit(2, 7)])
        hold.send([_append(2, 6)])
        await asyncio.sleep(HOLD * 3)

    sent = _run(scenario)
    assert [batch for _, batch in sent] == [[_append(2, 6)], [_commit(2, 7)]]


def test_only_the_newest_commit_per_follower_is_sent() -> None:
    async def scenario(hold: CommitHold) -> None:
        hold.send([_commit(2, 7)])
        hold.send([_commit(2, 8)])
        await asyncio.sleep(HOLD * 3)

    assert [batch for _, batch in _run(scenario)] == [[_commit(2, 8)]]


def test_flush_sends_at_once_and_close_drops() -> None:
    async def scenario(hold: CommitHold) -> None:
        hold.send([_commit(2, 7)])
        hold.flush()
        hold.send([_commit(3, 9)])
        hold.close()
        await asyncio.sleep(HOLD * 3)

    [(at, batch)] = _run(scenario)
    assert batch == [_commit(2, 7)] and at < HOLD


def _no_timer(delay: float, fn):
    raise AssertionError("nothing is held, so no timer is set")


def test_no_hold_passes_everything_through() -> None:
    sent: list[list[Message]] = []
    CommitHold(sent.append, 0, _no_timer).send([_commit(2, 7), _append(3, 7)])
    assert sent == [[_commit(2, 7), _append(3, 7)]]
