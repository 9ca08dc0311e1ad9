"""What only the tcp peer transport has: a bound on the bytes waiting for a peer, and
frames that a careless or hostile client can get wrong; each mistake closes that one
connection and leaves the others be."""

from __future__ import annotations

import asyncio

import pytest
from kvcore_tcp import connection
from kvcore_tcp.stream import BUFFER_BYTES
from kvcore_tcp.wire import HEADER, LENGTH, MAX_FRAME_BYTES, VERSION, Conn, Frame, Hello, frame
from support.ports import HOST

from kvcore.raft.messages import Message, MessageType
from kvcore.raft.types import Entry

from .peers import (
    CLUSTER_ID,
    PEER_TRANSPORTS,
    Member,
    eventually,
    members,
    message,
    run_async,
    snapshot_message,
)

TCP = PEER_TRANSPORTS["tcp"]


def _big_append(to: int, index: int, size: int) -> Message:
    entry = Entry(term=3, index=index, data=bytes(size))
    return Message(type=MessageType.APP, to=to, frm=1, term=3, index=index, entries=[entry])


@run_async
async def test_a_full_buffer_drops_and_reports() -> None:
    async with members(TCP, 2) as (a, b):
        # One synchronous call: nothing is written before it returns, so the messages
        # past the bound find it full.
        size = BUFFER_BYTES // 8
        a.network.send([_big_append(2, i, size) for i in range(10)])
        kept = 7  # 8 would be a little over the bound: each carries some bytes more
        assert a.handler.unreachable == [2] * (10 - kept)
        await eventually(lambda: len(b.handler.received) == kept)
        assert [m.index for m in b.handler.received] == list(range(kept))


@run_async
async def test_one_message_over_the_bound_still_goes_alone() -> None:
    async with members(TCP, 2) as (a, b):
        await _exchanged(a, b)
        a.network.send([_big_append(2, 1, BUFFER_BYTES + 1), message(2, 1, 2)])
        # The second waits behind the first, which alone is over the bound.
        assert a.handler.unreachable == [2]
        await eventually(lambda: len(b.handler.received) == 2)
        assert len(b.handler.received[1].entries[0].data) == BUFFER_BYTES + 1


async def _exchanged(a: Member, b: Member) -> None:
    """Until a's stream to b is up: a message sent now is delivered."""
    before = len(b.handler.received)
    a.network.send([message(b.id, a.id, 0)])
    await eventually(lambda: len(b.handler.received) > before)


async def _raw(member: Member, data: bytes) -> bytes:
    """Everything ``member`` answers to ``data`` on a connection of its own, until it
    closes that connection."""
    reader, writer = await asyncio.open_connection(HOST, int(member.address.split(":")[1]))
    try:
        writer.write(data)
        async with asyncio.timeout(5.0):
            return await reader.read()  # to EOF: the member closed the connection
    finally:
        writer.close()
        await writer.wait_closed()


def _stream_hello(cluster_id: int = CLUSTER_ID, sender: int = 1) -> bytes:
    return Hello(Conn.STREAM, cluster_id, sender).encode()


def _refusal_text(answer: bytes) -> str:
    size, kind = HEADER.unpack_from(answer)
    assert kind == Frame.REFUSE
    return answer[HEADER.size + 1 : HEADER.size + size].decode()


_ACCEPT = frame(Frame.ACCEPT)
_BAD_HELLO = HEADER.pack(18, Frame.HELLO) + bytes([VERSION + 1, Conn.STREAM]) + bytes(16)


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "exceeds", id="http"),
        pytest.param(_BAD_HELLO, f"protocol version {VERSION + 1}", id="bad-version"),
        pytest.param(frame(Frame.MESSAGES, b""), "did not open with a hello", id="no-hello"),
        pytest.param(
            _stream_hello() + HEADER.pack(MAX_FRAME_BYTES + 1, Frame.MESSAGES),
            "exceeds",
            id="oversized",
        ),
        pytest.param(
            _stream_hello() + frame(Frame.MESSAGES, LENGTH.pack(3) + b"abc"),
            "truncated",
            id="garbage-message",
        ),
        pytest.param(
            _stream_hello() + frame(Frame.MESSAGES, LENGTH.pack(99) + b"abc"),
            "cut short",
            id="cut-frame",
        ),
        pytest.param(_stream_hello() + frame(Frame.SNAP_DONE), "SNAP_DONE frame", id="wrong-frame"),
        pytest.param(_stream_hello(cluster_id=7), "in cluster 7", id="other-cluster"),
    ],
)
def test_a_bad_connection_is_closed_and_the_others_go_on(data: bytes, answer: str) -> None:
    @run_async
    async def scenario() -> None:
        async with members(TCP, 2) as (a, b):
            await _exchanged(a, b)
            got = await _raw(b, data)
            if got.startswith(_ACCEPT):  # refused after the hello was accepted
                got = got[len(_ACCEPT) :]
            assert answer in _refusal_text(got)
            await _exchanged(a, b)
            assert not a.handler.unreachable

    scenario()


def test_a_silent_connection_is_closed_after_the_handshake_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connection, "HANDSHAKE_TIMEOUT", 0.2)

    @run_async
    async def scenario() -> None:
        async with members(TCP, 1) as (a,):
            assert await _raw(a, b"") == b""

    scenario()


def test_the_plain_asyncio_loop_works_too() -> None:
    # uvloop is optional (kvcore.cli falls back to asyncio's own loop), and its
    # transports are not asyncio's classes.
    async def scenario() -> None:
        async with members(TCP, 2) as (a, b):
            a.network.send([message(2, 1, 1), snapshot_message(2, 1, 3 * 1024 * 1024)])
            await eventually(lambda: a.handler.snapshots == [(2, True)])
            assert [m.index for m in b.handler.received if m.index] == [1]
            b.handler.leases[7] = 30
            assert await a.network.lease_renew(b.id, 7, timeout=5.0) == 30

    run_async(scenario, loop_factory=asyncio.new_event_loop)()
