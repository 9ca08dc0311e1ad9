"""A leader's commit-only messages, held back for a moment.

When a write commits, raft tells each in-sync follower the new commit index in a
message of its own (``MessageType.COMMIT``). At low load the next write follows within
a client round trip, and its append carries the same index: held back briefly, the
COMMIT is usually superseded and never sent. That saves each follower one wake-up and
one Ready per write, and the leader one send per follower. The cost: when writes are
rare, followers apply a write (and their watchers see it) up to the hold later.
Linearizable reads are unaffected: a read index round's heartbeats carry the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from kvcore.raft.messages import Message, MessageType


class Timer(Protocol):
    def cancel(self) -> None: ...


# Calls a function after a delay in seconds (the driver's event loop's call_later).
CallLater = Callable[[float, Callable[[], None]], Timer]

# Messages that tell their receiver the commit index it may use (``commit``).
_CARRY_COMMIT = frozenset({MessageType.APP, MessageType.HEARTBEAT, MessageType.COMMIT})


class CommitHold:
    """Sends messages through ``send``, except that a COMMIT waits up to ``seconds``
    for a later message to the same follower that carries its index anyway."""

    def __init__(
        self, send: Callable[[list[Message]], None], seconds: float, call_later: CallLater
    ) -> None:
        self._send = send
        self._seconds = seconds
        self._call_later = call_later
        self._held: dict[int, Message] = {}  # by follower id, the newest only
        self._timer: Timer | None = None

    def send(self, messages: list[Message]) -> None:
        if self._seconds <= 0:
            self._send(messages)
            return
        held = self._held
        out = []
        for m in messages:
            if m.type == MessageType.COMMIT:
                held[m.to] = m
                continue
            waiting = held.get(m.to)
            if waiting is not None and m.type in _CARRY_COMMIT and m.commit >= waiting.commit:
                del held[m.to]
            out.append(m)
        if out:
            self._send(out)
        if held and self._timer is None:
            self._timer = self._call_later(self._seconds, self.flush)

    def flush(self) -> None:
        """Send what is held now: before the leader applies a membership change, whose
        removed member must still learn that it is committed."""
        self._stop_timer()
        if self._held:
            held, self._held = list(self._held.values()), {}
            self._send(held)

    def close(self) -> None:
        """Stop without sending: the node is going away."""
        self._stop_timer()
        self._held.clear()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
