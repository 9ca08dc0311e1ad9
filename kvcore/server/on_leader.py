"""Calls only the leader can answer, made wherever they arrive: on this member when it
leads, else forwarded to the leader over the peer network (as etcd forwards lease
renewals and learner promotions over its peer HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from kvcore import errors
from kvcore.transport import PeerNetwork

if TYPE_CHECKING:
    from kvcore.server.etcdserver import EtcdServer

T = TypeVar("T")

# How often a call waiting for a leader (or for it to answer) looks again.
POLL_SECONDS = 0.05


async def on_leader(
    server: EtcdServer,
    here: Callable[[], Awaitable[T]],
    forward: Callable[[PeerNetwork, int, float], Awaitable[T]],
) -> T:
    """Run ``here`` on the leader or ``forward`` to it (peers, leader id, seconds left),
    until one answers or the request timeout passes (a leader still being elected, or
    not yet ready to answer: ``here`` raises NOT_LEADER then)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + server.cfg.request_timeout
    while (left := deadline - loop.time()) > 0:
        try:
            async with asyncio.timeout(left):
                if server.is_leader:
                    return await here()
                if server.leader_id and server.peers is not None:
                    return await forward(server.peers, server.leader_id, left)
        except errors.EtcdError as exc:
            if exc != errors.NOT_LEADER:
                raise
        except (OSError, TimeoutError):
            pass  # the leader is unreachable or changed: look again
        await asyncio.sleep(POLL_SECONDS)
    raise errors.TIMEOUT if server.leader_id else errors.NO_LEADER
