"""Everything this member sends to one peer: its stream, its snapshots and its calls."""

from __future__ import annotations

import asyncio
import logging
import ssl

from kvcore.raft.messages import Message
from kvcore.transport import PeerHandler

from .calls import CallChannel
from .snapshot import send_snapshot
from .sockets import failure
from .stream import StreamSender
from .wire import Conn, Hello

log = logging.getLogger(__name__)


class PeerLink:
    """The connections to peer ``peer_id`` at ``address`` (``host:port``)."""

    def __init__(
        self,
        peer_id: int,
        address: str,
        local_id: int,
        cluster_id: int,
        handler: PeerHandler,
        context: ssl.SSLContext | None,
    ) -> None:
        self.peer_id = peer_id
        self.address = address
        self._handler = handler
        self._context = context
        self._snapshot_hello = Hello(Conn.SNAPSHOT, cluster_id, local_id).encode()
        self.stream = StreamSender(
            peer_id, address, Hello(Conn.STREAM, cluster_id, local_id).encode(), handler, context
        )
        self.calls = CallChannel(
            peer_id, address, Hello(Conn.CALL, cluster_id, local_id).encode(), context
        )
        self._snapshots: set[asyncio.Task] = set()

    def send_snapshot(self, message: Message) -> None:
        """Deliver a SNAP message on a connection of its own; the outcome goes to
        ``report_snapshot`` (at once, as a failure, while the peer is down)."""
        if self.stream.down:
            self._handler.report_snapshot(self.peer_id, False)
            return
        task = asyncio.create_task(
            self._snapshot(message), name=f"kvcore-peer-{self.peer_id:x}-snapshot"
        )
        self._snapshots.add(task)
        task.add_done_callback(self._snapshots.discard)

    async def stop(self) -> None:
        """Drop what is pending, cut snapshots short (unreported) and close everything."""
        for task in self._snapshots:
            task.cancel()
        await asyncio.gather(
            self.stream.stop(),
            self.calls.close(),
            *self._snapshots,
            return_exceptions=True,
        )

    async def _snapshot(self, message: Message) -> None:
        ok = False
        try:
            await send_snapshot(self.address, self._snapshot_hello, message, self._context)
            ok = True
        except Exception as exc:
            log.warning("peer %x: snapshot not delivered: %s", self.peer_id, failure(exc))
        self._handler.report_snapshot(self.peer_id, ok)
