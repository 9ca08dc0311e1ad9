"""Finding out that this member was removed while it could not hear about it.

A member learns of its own removal by applying the entry that removes it. One that was
paused or cut off while the removal committed never gets that entry: the leader stops
talking to removed members at once. etcd's peers answer such a member "member removed"
and it stops; here, a member that knows no leader asks its peers for their member
lists (the transport's ``fetch_members``, which a joining member uses too) and stops
once one lists it as removed.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from kvcore.server.etcdserver import EtcdServer
from kvcore.server.membership import Membership
from kvcore.transport import PeerTransport

# Election timeouts without a leader before the peers are asked, and between askings.
_LEADERLESS_ELECTIONS = 2


async def watch(server: EtcdServer, transport: PeerTransport, options: Any) -> None:
    """Run for the member's life; sets ``server.removed`` when a peer lists it removed."""
    interval = _LEADERLESS_ELECTIONS * server.cfg.raft.election_timeout_ms / 1000
    me = server.identity.member_id
    while not server.removed.is_set():
        await asyncio.sleep(interval)
        if server.leader_id:
            continue
        urls = [url for urls in server.membership.peers().values() for url in urls]
        if not urls:
            continue
        random.shuffle(urls)  # not always the same first peer, which may be cut off too
        try:
            data = await transport.fetch_members(urls, interval, options)
            removed = Membership.decode_removed(data)
        except (OSError, ValueError):
            continue  # nobody answers (cut off, not known removed), or an odd answer
        if me in removed:
            server.mark_removed("a peer lists this member as removed")
