"""Linearizable reads without a log write (ReadIndex, raft thesis §6.4).

The leader notes its commit index when a read arrives, then confirms it is still leader
by a heartbeat round carrying the read's context. Once a majority answer, the read may
be served at that index. Requests are answered in arrival order: an ack for a later
read also confirms every earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kvcore.raft.messages import Message


@dataclass(slots=True)
class ReadState:
    """A read may be served once the state machine has applied `index`."""

    index: int
    request_ctx: bytes


@dataclass(slots=True)
class ReadIndexStatus:
    req: Message
    index: int
    acks: dict[int, bool] = field(default_factory=dict)


class ReadOnly:
    def __init__(self) -> None:
        self._pending: dict[bytes, ReadIndexStatus] = {}
        self._queue: list[bytes] = []

    def add_request(self, index: int, req: Message) -> None:
        ctx = req.context
        if ctx in self._pending:
            return  # a retry of a read already in flight
        self._pending[ctx] = ReadIndexStatus(req=req, index=index)
        self._queue.append(ctx)

    def recv_ack(self, nid: int, ctx: bytes) -> dict[int, bool] | None:
        rs = self._pending.get(ctx)
        if rs is None:
            return None
        rs.acks[nid] = True
        return rs.acks

    def advance(self, ctx: bytes) -> list[ReadIndexStatus]:
        """Pop and return every request up to and including ctx."""
        if ctx not in self._pending:
            return []
        i = self._queue.index(ctx) + 1
        done, self._queue = self._queue[:i], self._queue[i:]
        return [self._pending.pop(c) for c in done]

    def last_pending_ctx(self) -> bytes:
        return self._queue[-1] if self._queue else b""
