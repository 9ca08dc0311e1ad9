"""One link (connection object) per peer, kept in step with the member list."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Generic, Protocol, TypeVar

from kvcore.peer.address import peer_target

log = logging.getLogger(__name__)


class Link(Protocol):
    peer_id: int
    address: str  # host:port

    async def stop(self) -> None:
        """Close the link's connections."""


L = TypeVar("L", bound=Link)


class Roster(Generic[L]):
    """The links of a peer network, by peer id. A link to a peer that left or moved is
    taken out at once and stops in the background; ``stop`` waits for those too."""

    def __init__(self, local_id: int, make: Callable[[int, str], L]) -> None:
        self._local_id = local_id
        self._make = make  # (peer id, host:port) -> a link
        self.links: dict[int, L] = {}
        self._retiring: set[asyncio.Task] = set()

    def get(self, peer_id: int) -> L:
        """The link to ``peer_id``; OSError if it is not a peer."""
        link = self.links.get(peer_id)
        if link is None:
            raise OSError(f"member {peer_id:x} is not a peer")
        return link

    def reconcile(self, peers: Mapping[int, list[str]]) -> None:
        """One link per peer of ``peers`` (member id -> peer URLs; this member left
        out) to the address of its first URL."""
        wanted: dict[int, str] = {}
        for peer_id, urls in peers.items():
            if peer_id == self._local_id or not urls:
                continue
            try:
                wanted[peer_id] = peer_target(urls[0])
            except ValueError as exc:
                # Membership comes from client requests; one bad URL must not stop raft.
                log.error("peer %x left out: %s", peer_id, exc)
        for peer_id, link in list(self.links.items()):
            if wanted.get(peer_id) != link.address:
                del self.links[peer_id]
                self._retire(link)
        for peer_id, address in wanted.items():
            if peer_id not in self.links:
                self.links[peer_id] = self._make(peer_id, address)

    async def stop(self) -> None:
        links = list(self.links.values())
        self.links.clear()
        await asyncio.gather(*(link.stop() for link in links), *self._retiring)

    def _retire(self, link: L) -> None:
        task = asyncio.create_task(link.stop(), name=f"kvcore-peer-{link.peer_id:x}-retire")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
