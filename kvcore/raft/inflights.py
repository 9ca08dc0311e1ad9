"""A bound on un-acknowledged append messages to one follower (flow control)."""

from __future__ import annotations

from collections import deque


class Inflights:
    """Last indexes of the append messages in flight, oldest first.

    The leader stops sending in replicate state once `size` messages are in flight and
    frees slots as acknowledgements arrive (they ack every index up to some value).
    """

    __slots__ = ("_q", "size")

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError("inflights size must be positive")
        self.size = size
        self._q: deque[int] = deque()

    def add(self, index: int) -> None:
        if self.full():
            raise OverflowError("add to full inflights")
        if self._q and index < self._q[-1]:
            raise ValueError("inflight indexes must not decrease")
        self._q.append(index)

    def free_le(self, to: int) -> None:
        """Forget every message whose last index is <= to: they are acknowledged."""
        q = self._q
        while q and q[0] <= to:
            q.popleft()

    def free_first_one(self) -> None:
        if self._q:
            self._q.popleft()

    def full(self) -> bool:
        return len(self._q) >= self.size

    def count(self) -> int:
        return len(self._q)

    def reset(self) -> None:
        self._q.clear()
