"""The sending side of a STREAM connection: one peer's raft messages, in order."""

from __future__ import annotations

import asyncio
import logging
import ssl

from kvcore.peer.backoff import Backoff
from kvcore.peer.log import Reachability
from kvcore.raft.codec import encode_message
from kvcore.raft.messages import Message
from kvcore.transport import PeerHandler

from .sockets import HANDSHAKE_TIMEOUT, connect, failure
from .wire import (
    HEADER,
    LENGTH,
    MAX_FRAME_BYTES,
    Frame,
    check_refusal,
    expect,
    read_frame,
)

log = logging.getLogger(__name__)

# Most bytes waiting for one peer (not yet written, or in the socket's write buffer)
# before its messages are dropped and reported: a peer that stopped reading must not
# hold the leader's memory. One message alone is always taken (up to a frame).
BUFFER_BYTES = 16 * 1024 * 1024


class StreamSender:
    """Carries raft messages to one peer over one TCP connection.

    ``send`` encodes a message onto a pending list; ``flush`` writes everything pending
    as one MESSAGES frame, at once (the network flushes after each batch it is given,
    so a leader's appends are on the wire before it syncs its own disk): no task,
    queue or await per message. A task per peer only dials, handshakes, watches the
    connection and backs off. While the peer is down, messages are dropped and reported
    at once rather than kept, so a peer that comes back is not sent a backlog raft has
    already given up on; until the first connection is up they are kept (up to the
    buffer bound), as raft sends as soon as it starts.
    """

    def __init__(
        self,
        peer_id: int,
        address: str,
        hello: bytes,
        handler: PeerHandler,
        context: ssl.SSLContext | None,
    ) -> None:
        self.peer_id = peer_id
        self.address = address
        self._hello = hello
        self._handler = handler
        self._context = context
        self._pending: list[bytes] = []  # each message's length, then the message
        self._pending_bytes = 0
        self._transport: asyncio.WriteTransport | None = None  # set while accepted
        self._reach = Reachability(peer_id, address, log)
        self._task = asyncio.create_task(self._run(), name=f"kvcore-peer-{peer_id:x}-stream")

    @property
    def down(self) -> bool:
        return self._reach.down

    @property
    def up_since(self) -> float | None:
        return self._reach.up_since

    def send(self, message: Message) -> None:
        """Queue ``message`` (not a SNAP) for the next flush, or drop and report it."""
        if self._reach.down:
            self._handler.report_unreachable(self.peer_id)
            return
        data = encode_message(message)
        size = LENGTH.size + len(data)
        transport = self._transport
        waiting = self._pending_bytes
        if transport is not None:
            waiting += transport.get_write_buffer_size()
        if (waiting and waiting + size > BUFFER_BYTES) or size > MAX_FRAME_BYTES:
            if size > MAX_FRAME_BYTES:  # can never go: say so, raft will keep trying
                log.error(
                    "peer %x: a %s message of %d bytes exceeds a frame",
                    self.peer_id,
                    message.type.name,
                    size,
                )
            self._handler.report_unreachable(self.peer_id)
            return
        self._pending.append(LENGTH.pack(len(data)))
        self._pending.append(data)
        self._pending_bytes += size

    async def stop(self) -> None:
        """Drop what is pending and close the connection."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def flush(self) -> None:
        """Write what is pending, if the stream is up (else it waits for ``_set_up``)."""
        transport = self._transport
        if transport is None or not self._pending:
            return
        if transport.is_closing():  # lost; the task reports it and drops the rest
            return
        pending, size = self._pending, self._pending_bytes
        self._pending, self._pending_bytes = [], 0
        pending.insert(0, HEADER.pack(size, Frame.MESSAGES))
        transport.write(b"".join(pending))

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            writer: asyncio.StreamWriter | None = None
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel.
                async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                    reader, writer = await connect(self.address, self._context)
                    writer.write(self._hello)
                    await expect(reader, Frame.ACCEPT)
                backoff.reset()
                self._set_up(writer.transport)
                await _until_closed(reader)
            except Exception as exc:
                self._set_down(exc)
            finally:
                self._transport = None
                if writer is not None:
                    writer.transport.abort()  # what is unsent is dropped anyway
            await asyncio.sleep(backoff.delay())

    def _set_up(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport
        self._reach.up()
        self.flush()

    def _set_down(self, exc: Exception) -> None:
        self._transport = None
        self._pending, self._pending_bytes = [], 0
        self._handler.report_unreachable(self.peer_id)
        self._reach.failed(failure(exc))


async def _until_closed(reader: asyncio.StreamReader) -> None:
    """Wait out an accepted stream; raise why it ended. The listener sends nothing on
    it but a refusal of a message it will not take."""
    check_refusal(*await read_frame(reader))
