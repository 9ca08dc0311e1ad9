"""The request registry: results by id, and timeouts from one shared timer."""

from __future__ import annotations

import asyncio

import pytest

from kvcore.server.wait import Wait


def test_results_errors_and_timeouts() -> None:
    async def scenario() -> None:
        wait = Wait(timeout=0.05)
        answered, failed, late = wait.register(1), wait.register(2), wait.register(3)
        wait.trigger(1, "ok")
        wait.trigger(2, ValueError("bad"))
        assert await answered == "ok"
        with pytest.raises(ValueError):
            await failed
        with pytest.raises(TimeoutError):
            await late
        assert len(wait) == 0
        wait.trigger(3, "too late")  # ignored: the request already timed out

    asyncio.run(scenario())


def test_each_request_gets_its_own_deadline() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        wait = Wait(timeout=0.2)
        first = wait.register(1)
        await asyncio.sleep(0.1)
        second = wait.register(2)
        started = loop.time()
        with pytest.raises(TimeoutError):
            await first
        assert not second.done()  # its deadline is 0.1 s later
        with pytest.raises(TimeoutError):
            await second
        assert loop.time() - started >= 0.09

    asyncio.run(scenario())


def test_answered_requests_leave_no_timer_behind() -> None:
    async def scenario() -> None:
        wait = Wait(timeout=0.05)
        for request_id in range(100):
            wait.register(request_id)
            wait.trigger(request_id, None)
        await asyncio.sleep(0.1)  # the timer fires once, finds nothing due, stops
        assert wait._timer is None and not wait._deadlines
        wait.fail_all(RuntimeError("stopped"))

    asyncio.run(scenario())


def test_fail_all_fails_pending_and_stops_the_timer() -> None:
    async def scenario() -> None:
        wait = Wait(timeout=10)
        pending = wait.register(1)
        wait.fail_all(RuntimeError("stopped"))
        with pytest.raises(RuntimeError):
            await pending
        assert wait._timer is None

    asyncio.run(scenario())
