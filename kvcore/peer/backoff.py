"""Delays between reconnects to a peer."""

from __future__ import annotations

import random


class Backoff:
    """Delays between reconnects: ``first`` doubling up to ``most``, each jittered down
    by up to half, so that members that lost each other do not redial in step."""

    def __init__(self, first: float = 0.05, most: float = 1.0) -> None:
        self._first = first
        self._most = most
        self._next = first

    def reset(self) -> None:
        self._next = self._first

    def delay(self) -> float:
        delay = self._next
        self._next = min(delay * 2, self._most)
        return delay * random.uniform(0.5, 1.0)
