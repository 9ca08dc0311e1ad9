"""One accepted connection: its bytes cut into frames, each handed to the session its
HELLO opened.

A protocol rather than a StreamReader and a task: frames are parsed and raft messages
delivered straight from ``data_received``, with no task wake-up or await per frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol, cast

from kvcore.errors import Code
from kvcore.peer.log import Refusals

from .sockets import HANDSHAKE_TIMEOUT, peer_name, tune
from .wire import HEADER, MAX_FRAME_BYTES, Hello, ProtocolError, Refused, refusal

log = logging.getLogger(__name__)


class Session(Protocol):
    """What serves one connection kind once its HELLO is accepted (see receive.py)."""

    def frame(self, kind: int, payload: bytes) -> None:
        """The next frame. Raises Refused to refuse, ProtocolError for a broken frame:
        either way the connection is told why and closed."""

    def close(self) -> list[asyncio.Task]:
        """The connection is gone: cancel what it started; return those tasks."""


class Connection(asyncio.Protocol):
    """Reads HELLO, asks ``open_session`` for the session it names (which raises
    Refused to refuse it), then feeds that session every later frame."""

    def __init__(
        self,
        open_session: Callable[[Hello, Connection], Session],
        refusals: Refusals,
        connections: set[Connection],
    ) -> None:
        self._open_session = open_session
        self._refusals = refusals
        self._connections = connections
        self._buffer = bytearray()
        self._session: Session | None = None
        self._transport: asyncio.Transport | None = None
        self._closing = False
        self._hello_timer: asyncio.TimerHandle | None = None
        self.peer = "?"

    # --- for sessions ----------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._transport is not None and not self._closing:
            self._transport.write(data)

    def abort(self) -> list[asyncio.Task]:
        """Close now, dropping what is unsent; the tasks the session had running."""
        tasks = self._end()
        if self._transport is not None:
            self._transport.abort()
        return tasks

    # --- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's subclass neither
        self._connections.add(self)
        tune(transport)
        self.peer = peer_name(transport)
        # A connection that never says hello (a port scanner, a stuck peer) is closed.
        loop = asyncio.get_running_loop()
        self._hello_timer = loop.call_later(HANDSHAKE_TIMEOUT, self._silent)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        buffer = self._buffer
        buffer += data
        try:
            while len(buffer) >= HEADER.size:
                size, kind = HEADER.unpack_from(buffer)
                if size > MAX_FRAME_BYTES:
                    raise ProtocolError(f"a frame of {size} bytes exceeds {MAX_FRAME_BYTES}")
                end = HEADER.size + size
                if len(buffer) < end:
                    break
                payload = bytes(buffer[HEADER.size : end])
                del buffer[:end]
                self._frame(kind, payload)
                if self._closing:
                    return
        except Refused as exc:
            self._refuse(exc.code, exc.why)
        except ProtocolError as exc:
            # Said back, so that a member speaking another version knows why.
            self._refuse(Code.INVALID_ARGUMENT, str(exc))
        except Exception:
            log.exception("peer %s: serving the connection failed", self.peer)
            self.abort()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()
        self._connections.discard(self)
        if exc is not None:
            log.debug("peer %s: connection lost: %s", self.peer, exc)

    # --- inside ----------------------------------------------------------------------

    def _frame(self, kind: int, payload: bytes) -> None:
        if self._session is not None:
            self._session.frame(kind, payload)
            return
        if self._hello_timer is not None:
            self._hello_timer.cancel()
        self._session = self._open_session(Hello.decode(kind, payload), self)

    def _refuse(self, code: Code, why: str) -> None:
        self._refusals.log(self.peer, why)
        self.write(refusal(code, why))
        self._end()
        if self._transport is not None:
            self._transport.close()  # after the refusal is written

    def _silent(self) -> None:
        log.debug("peer %s: no hello within %s s", self.peer, HANDSHAKE_TIMEOUT)
        self.abort()

    def _end(self) -> list[asyncio.Task]:
        self._closing = True
        self._buffer.clear()
        if self._hello_timer is not None:
            self._hello_timer.cancel()
        session, self._session = self._session, None
        return session.close() if session is not None else []
