"""Raft messages over a peer network: order, refusals, failures, membership."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from support.ports import free_port

from kvcore.raft.messages import Message, MessageType
from kvcore.raft.types import Entry
from kvcore.transport import PeerTransport

from .peers import (
    CLUSTER_ID,
    eventually,
    members,
    message,
    new_member,
    run_async,
    snapshot_message,
)


def _append(to: int, frm: int, index: int) -> Message:
    entries = [Entry(term=3, index=index + i, data=f"e{index + i}".encode()) for i in range(3)]
    return Message(
        type=MessageType.APP, to=to, frm=frm, term=3, index=index, entries=entries, context=b"c"
    )


@run_async
async def test_messages_arrive_in_order_and_whole(transport: PeerTransport) -> None:
    async with members(transport, 3) as (a, b, c):
        sent: dict[int, list[Message]] = {2: [], 3: []}
        for i in range(50):
            # Some sends come while a write is in flight, so some batches hold several.
            batch = [_append(2, 1, i * 10), message(3, 1, i), _append(3, 1, i * 10)]
            a.network.send(batch)
            sent[2].append(batch[0])
            sent[3].extend(batch[1:])
            b.network.send([message(1, 2, i, MessageType.HEARTBEAT_RESP)])
            if i % 7 == 0:
                await asyncio.sleep(0)
        await eventually(lambda: len(c.handler.received) == 100 and len(a.handler.received) == 50)
        await eventually(lambda: len(b.handler.received) == 50)
        assert b.handler.received == sent[2]
        assert c.handler.received == sent[3]
        assert [m.index for m in a.handler.received] == list(range(50))
        assert not (a.handler.unreachable or b.handler.unreachable)


@run_async
async def test_another_cluster_is_refused(
    transport: PeerTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with members(transport, 2, cluster_ids=[CLUSTER_ID, CLUSTER_ID + 1]) as (a, b):
        a.network.send([message(2, 1, 1)])
        await eventually(lambda: 2 in a.handler.unreachable and 1 in b.handler.unreachable)
        assert b.handler.received == []
    # Each side refuses the other's stream, and says so once however often it retries.
    logged = [r.getMessage() for r in caplog.records]
    refusals = [line for line in logged if line.startswith("refused peer ")]
    assert len(refusals) == 2, logged
    for why in (
        "member 1 is in cluster c1, member 2 in cluster c2",
        "member 2 is in cluster c2, member 1 in cluster c1",
    ):
        assert any(r.endswith(why) for r in refusals), refusals
    # Each sender says once that its peer is down, and why.
    downs = [line for line in logged if " is unreachable: " in line]
    assert len(downs) == 2 and all("FAILED_PRECONDITION" in d for d in downs), logged


@run_async
async def test_a_message_for_another_member_is_refused(transport: PeerTransport) -> None:
    async with members(transport, 3) as (a, _, c):
        # Member 2's URL now leads to member 3 (an address reused by another member).
        a.network.set_peers({1: [a.url], 2: [c.url], 3: [c.url]})
        a.network.send([snapshot_message(2, 1, 100)])
        # grpc's sender learns of the refusal on its next write: raft always sends more.
        await eventually(
            lambda: 2 in a.handler.unreachable, each=lambda: a.network.send([message(2, 1, 1)])
        )
        await eventually(lambda: a.handler.snapshots == [(2, False)])
        assert c.handler.received == []
        a.network.send([message(3, 1, 2)])  # the stream to 3 itself is not hurt
        await eventually(lambda: [m.index for m in c.handler.received] == [2])


@run_async
async def test_a_down_peer_is_reported_then_reconnected(transport: PeerTransport) -> None:
    async with members(transport, 2, started=1) as (a, b):
        start = time.monotonic()
        a.network.send([message(2, 1, i) for i in range(100)])
        assert time.monotonic() - start < 0.1  # queued, never awaited
        await eventually(lambda: 2 in a.handler.unreachable)
        reports = len(a.handler.unreachable)
        a.network.send([message(2, 1, 100)])  # while down: dropped and reported at once
        assert len(a.handler.unreachable) == reports + 1

        await b.network.start()
        index = iter(range(1000, 10**6))
        await eventually(
            lambda: b.handler.received, each=lambda: a.network.send([message(2, 1, next(index))])
        )
        a.network.send([message(2, 1, next(index)) for _ in range(20)])
        last = next(index) - 1
        await eventually(lambda: b.handler.received[-1].index == last)
        indexes = [m.index for m in b.handler.received]
        assert indexes == sorted(indexes) and indexes[-20:] == list(range(last - 19, last + 1))


@run_async
async def test_unknown_peers_are_reported(transport: PeerTransport) -> None:
    async with members(transport, 1) as (a,):
        snap = Message(type=MessageType.SNAP, to=9, frm=1)
        a.network.send([message(9, 1, 1), snap, message(1, 1, 2)])
        assert a.handler.unreachable == [9, 1]
        assert a.handler.snapshots == [(9, False)]


def _sender_tasks(peer_id: int) -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith(f"kvcore-peer-{peer_id:x}-")]


@run_async
async def test_set_peers_removes_and_moves_senders(transport: PeerTransport) -> None:
    async with members(transport, 2) as (a, b):
        a.network.send([message(2, 1, 1)])
        await eventually(lambda: len(b.handler.received) == 1)

        a.network.set_peers({1: [a.url]})
        a.network.send([message(2, 1, 2)])
        assert a.handler.unreachable == [2]
        await eventually(lambda: not _sender_tasks(2))

        # Member 2 comes back at another address.
        moved = new_member(transport, 2, free_port())
        await moved.network.start()
        try:
            a.network.set_peers({1: [a.url], 2: [moved.url]})
            a.network.send([message(2, 1, 3)])
            await eventually(lambda: [m.index for m in moved.handler.received] == [3])
            assert b.handler.received == [message(2, 1, 1)]
        finally:
            await moved.network.stop(0)


@run_async
async def test_a_taken_address_raises_oserror(transport: PeerTransport) -> None:
    async with members(transport, 1) as (a,):
        twin = new_member(transport, 5, int(a.address.rsplit(":", 1)[1]))
        with pytest.raises(OSError):
            await twin.network.start()
        await twin.network.stop(0)


@run_async
async def test_stop_ends_everything_promptly(transport: PeerTransport) -> None:
    async with members(transport, 3) as group:
        for m in group:
            m.network.send([message(p.id, m.id, 1) for p in group if p is not m])
        await eventually(lambda: all(len(m.handler.received) == 2 for m in group))
        group[0].network.send([snapshot_message(2, 1, 20 * 1024 * 1024)])
        await asyncio.sleep(0.02)  # let the transfer begin
        start = time.monotonic()
        for m in group:
            await m.network.stop(grace=5.0)  # streams are ended, not waited for
        assert time.monotonic() - start < 2.0
        # Cut short by the stop (or, on a fast loopback, done): never reported failed.
        assert (2, False) not in group[0].handler.snapshots
    # run_async checks that no task is left
