"""fetch_members: how a joining member learns the cluster from a running peer."""

from __future__ import annotations

import time

import pytest
from support.ports import HOST, free_ports

from kvcore.transport import PeerNetwork, PeerTransport

from .peers import members, run_async


def test_is_a_peer_transport(transport: PeerTransport) -> None:
    assert isinstance(transport, PeerTransport)


@run_async
async def test_the_first_peer_that_answers_wins(transport: PeerTransport) -> None:
    async with members(transport, 2) as (a, b):
        a.handler.members_blob = b"seen by 1"
        b.handler.members_blob = b"seen by 2"
        assert isinstance(a.network, PeerNetwork)
        dead = f"http://{HOST}:{free_ports(1)[0]}"
        got = await transport.fetch_members([dead, b.url, a.url], 5.0, transport.options_model())
        assert got == b"seen by 2"


@run_async
async def test_no_answer_is_an_oserror_after_the_timeout(transport: PeerTransport) -> None:
    urls = [f"http://{HOST}:{port}" for port in free_ports(2)]
    start = time.monotonic()
    with pytest.raises(OSError, match=r"no peer answered within 0\.3 s"):
        await transport.fetch_members(urls, 0.3, transport.options_model())
    assert 0.3 <= time.monotonic() - start < 1.0
