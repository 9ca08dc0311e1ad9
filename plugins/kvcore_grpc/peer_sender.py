"""The sending side of the peer network: one peer's stream of raft messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import grpc

from kvcore.api.kvcorepb.peer_pb2 import PeerMessage
from kvcore.api.kvcorepb.peer_pb2_grpc import PeerStub
from kvcore.peer.backoff import Backoff
from kvcore.peer.log import Reachability
from kvcore.raft.codec import encode_message
from kvcore.raft.messages import Message, MessageType
from kvcore.transport import PeerHandler

from .peer_snapshot import snapshot_chunks
from .peer_wire import ACCEPTED_KEY, open_channel

log = logging.getLogger(__name__)

QUEUE_SIZE = 4096
# What one write takes from the queue, well under MAX_MESSAGE_BYTES.
BATCH_BYTES = 4 * 1024 * 1024
# How long a peer may take to accept a stream: a black-holed address never refuses.
HANDSHAKE_TIMEOUT = 3.0


class PeerSender:
    """Carries raft messages to one peer over one gRPC channel.

    Messages go through a bounded queue into one long-lived Stream call, in order; SNAP
    messages each get a Snapshot call of their own, beside the stream. While the peer
    is down, messages are dropped and reported at once rather than queued, so a peer
    that comes back is not sent a backlog raft has already given up on.
    """

    def __init__(
        self,
        peer_id: int,
        address: str,
        local_id: int,
        cluster_id: int,
        handler: PeerHandler,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self.peer_id = peer_id
        self.address = address
        self._local_id = local_id
        self._cluster_id = cluster_id
        self._handler = handler
        self._queue: asyncio.Queue[Message] = asyncio.Queue(QUEUE_SIZE)
        self._channel = open_channel(address, credentials)
        self.stub = PeerStub(self._channel)
        self._reach = Reachability(peer_id, address, log)
        self._tasks: set[asyncio.Task] = set()
        self._spawn(self._run(), "stream")

    @property
    def up_since(self) -> float | None:
        return self._reach.up_since

    def send(self, message: Message) -> None:
        if message.type == MessageType.SNAP:
            if self._reach.down:
                self._handler.report_snapshot(self.peer_id, False)
            else:
                self._spawn(self._send_snapshot(message), "snapshot")
            return
        if self._reach.down or self._queue.full():
            self._handler.report_unreachable(self.peer_id)
        else:
            self._queue.put_nowait(message)

    async def stop(self) -> None:
        """Drop what is queued, end the calls and close the channel."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._channel.close()

    def _spawn(self, coro: Coroutine[Any, Any, None], job: str) -> None:
        task = asyncio.create_task(coro, name=f"kvcore-peer-{self.peer_id:x}-{job}")
        self._tasks.add(task)
        task.add_done_callback(self._reap)

    def _reap(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "peer %x: %s failed", self.peer_id, task.get_name(), exc_info=task.exception()
            )

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            call = self.stub.Stream()
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel.
                async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                    await self._handshake(call)
                backoff.reset()
                self._reach.up()
                while True:
                    await call.write(self._frame(await self._batch()))
            except Exception as exc:
                self._set_down(exc)
            finally:
                call.cancel()
            await asyncio.sleep(backoff.delay())

    async def _handshake(self, call: grpc.aio.StreamUnaryCall) -> None:
        await call.write(self._frame([]))
        metadata = await call.initial_metadata()
        if ACCEPTED_KEY not in metadata:
            await call  # raises the peer's refusal
            raise ConnectionError("peer ended the stream without accepting it")

    def _frame(self, messages: list[bytes]) -> PeerMessage:
        return PeerMessage(
            cluster_id=self._cluster_id, messages=messages, **{"from": self._local_id}
        )

    async def _batch(self) -> list[bytes]:
        """Everything queued (up to BATCH_BYTES): what piled up while the last write
        was in flight goes out as one gRPC message."""
        batch = [encode_message(await self._queue.get())]
        size = len(batch[0])
        while size < BATCH_BYTES and not self._queue.empty():
            batch.append(encode_message(self._queue.get_nowait()))
            size += len(batch[-1])
        return batch

    def _set_down(self, exc: Exception) -> None:
        self._handler.report_unreachable(self.peer_id)
        while not self._queue.empty():
            self._queue.get_nowait()
        self._reach.failed(_why(exc))

    async def _send_snapshot(self, message: Message) -> None:
        ok = False
        try:
            chunks = snapshot_chunks(message, self._cluster_id, self._local_id)
            ok = (await self.stub.Snapshot(chunks)).ok
        except Exception as exc:
            log.warning("peer %x: snapshot not delivered: %s", self.peer_id, _why(exc))
        self._handler.report_snapshot(self.peer_id, ok)


def _why(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    if isinstance(exc, TimeoutError):
        return f"no answer within {HANDSHAKE_TIMEOUT} s"
    return repr(exc)
