"""Keeping one connection object per peer in step with the member list."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

from kvcore.peer.address import peer_target

log = logging.getLogger(__name__)

Link = TypeVar("Link")


def reconcile(
    links: dict[int, Link],
    peers: Mapping[int, list[str]],
    local_id: int,
    address_of: Callable[[Link], str],
    make: Callable[[int, str], Link],
    retire: Callable[[Link], None],
) -> None:
    """Make ``links`` hold one link per peer of ``peers`` (member id -> peer URLs, this
    member left out) to the address of its first URL: a link to a peer gone or moved
    is taken out and retired, a new one made for a peer that has none."""
    wanted: dict[int, str] = {}
    for peer_id, urls in peers.items():
        if peer_id == local_id or not urls:
            continue
        try:
            wanted[peer_id] = peer_target(urls[0])
        except ValueError as exc:
            # Membership comes from client requests; one bad URL must not stop raft.
            log.error("peer %x left out: %s", peer_id, exc)
    for peer_id, link in list(links.items()):
        if wanted.get(peer_id) != address_of(link):
            del links[peer_id]
            retire(link)
    for peer_id, address in wanted.items():
        if peer_id not in links:
            links[peer_id] = make(peer_id, address)
