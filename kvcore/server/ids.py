"""Member, cluster and request ids, computed the way etcd computes them.

Deriving member and cluster ids from peer URLs and the cluster token (etcd's
``computeMemberId`` and ``genID``) gives a member the same id on every start without
storing anything, and gives members of one cluster the same cluster id.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
import time
from collections.abc import Iterable


def _first_u64(data: bytes) -> int:
    return struct.unpack(">Q", hashlib.sha1(data).digest()[:8])[0]


def member_id(peer_urls: Iterable[str], cluster_token: str, now: int | None = None) -> int:
    """A founding member's id (``now`` None), or an added member's (``now``: unix time;
    etcd's MemberAdd hashes no cluster token, ``""``)."""
    data = "".join(sorted(peer_urls)) + cluster_token + ("" if now is None else str(now))
    return _first_u64(data.encode())


def cluster_id(member_ids: Iterable[int]) -> int:
    return _first_u64(b"".join(struct.pack(">Q", m) for m in sorted(member_ids)))


class RequestIds:
    """Unique request ids: the member's low 16 bits, start time in ms, a counter.

    Like etcd's idutil.Generator: unique across members and across restarts of one
    member (the start time moves on), and cheap to produce.
    """

    def __init__(self, member: int) -> None:
        prefix = (member & 0xFFFF) << 48
        start = (int(time.time() * 1000) & 0xFF_FFFF_FFFF) << 8
        self._ids = itertools.count(prefix | start)

    def next(self) -> int:
        return next(self._ids) & 0xFFFF_FFFF_FFFF_FFFF
