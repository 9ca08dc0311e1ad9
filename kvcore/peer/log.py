"""What a peer transport logs about its peers, once per change rather than per retry:
a peer that is down is redialled every second, and a refused one retries as often."""

from __future__ import annotations

import logging
import time


class Reachability:
    """Whether the connection to one peer is down, logged to ``log``: a warning when it
    goes down and when it comes back, debug for each further failed reconnect. Also
    since when it has been up (``time.monotonic()``; None while it is not)."""

    def __init__(self, peer_id: int, target: str, log: logging.Logger) -> None:
        self.peer_id = peer_id
        self.target = target
        self.down = False
        self.up_since: float | None = None
        self._log = log

    def up(self) -> None:
        if self.up_since is None:
            self.up_since = time.monotonic()
        if self.down:
            self.down = False
            self._log.warning("peer %x at %s is reachable again", self.peer_id, self.target)
        else:
            self._log.debug("peer %x: stream to %s open", self.peer_id, self.target)

    def failed(self, why: str) -> None:
        self.up_since = None
        if self.down:
            self._log.debug("peer %x: reconnect to %s failed: %s", self.peer_id, self.target, why)
        else:
            self.down = True
            self._log.warning("peer %x at %s is unreachable: %s", self.peer_id, self.target, why)


class Refusals:
    """A receiver's refusals of peers, logged to ``log``: a warning the first time a
    reason is seen, debug after that."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._seen: set[str] = set()

    def log(self, peer: str, why: str) -> None:
        if why in self._seen:
            self._log.debug("refused peer %s: %s", peer, why)
        else:
            self._seen.add(why)
            self._log.warning("refused peer %s: %s", peer, why)
