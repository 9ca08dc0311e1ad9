"""The calling side of a CALL connection: requests to one peer, each awaiting its answer."""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
import struct

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .sockets import connect, failure
from .wire import (
    LEASE_ID,
    TTL,
    Frame,
    Method,
    Outcome,
    ProtocolError,
    check_refusal,
    expect,
    read_answer,
    read_frame,
    request,
)

log = logging.getLogger(__name__)


class CallChannel:
    """Calls to one peer over one connection, dialled on the first call and again after
    it breaks (not kept up otherwise: calls are rare next to raft traffic). Answers are
    matched to calls by id, so calls may overlap.

    A call returns the answer's body; raises the peer handler's EtcdError as itself,
    and OSError for everything else: no connection, a refusal, no answer in time.
    """

    def __init__(
        self, peer_id: int, address: str, hello: bytes, context: ssl.SSLContext | None
    ) -> None:
        self.peer_id = peer_id
        self.address = address
        self._hello = hello
        self._context = context
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[tuple[Outcome, errors.Code, bytes]]] = {}
        self._dialling = asyncio.Lock()
        self._writer: asyncio.StreamWriter | None = None
        self._reader: asyncio.Task | None = None
        self._closed = False

    async def members(self, timeout: float) -> bytes:
        return await self.call(Method.MEMBERS, b"", timeout)

    async def lease_renew(self, lease_id: int, timeout: float) -> int:
        answer = await self.call(Method.LEASE_RENEW, LEASE_ID.pack(lease_id), timeout)
        return _unpack(TTL, answer)

    async def lease_time_to_live(
        self, asked: pb.LeaseTimeToLiveRequest, timeout: float
    ) -> pb.LeaseTimeToLiveResponse:
        answer = await self.call(Method.LEASE_TIME_TO_LIVE, asked.SerializeToString(), timeout)
        return pb.LeaseTimeToLiveResponse.FromString(answer)

    async def member_promote(
        self, asked: pb.MemberPromoteRequest, timeout: float
    ) -> pb.MemberPromoteResponse:
        answer = await self.call(Method.MEMBER_PROMOTE, asked.SerializeToString(), timeout)
        return pb.MemberPromoteResponse.FromString(answer)

    async def call(self, method: Method, body: bytes, timeout: float) -> bytes:
        call_id = next(self._ids) & 0xFFFFFFFF
        answered = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                writer = await self._connected()
                self._waiting[call_id] = answered
                writer.write(request(call_id, method, body))
                outcome, code, body = await answered
        except TimeoutError:
            raise OSError(f"member {self.peer_id:x}: no answer within {timeout} s") from None
        except (EOFError, ProtocolError) as exc:  # while dialling: the contract says OSError
            raise OSError(f"member {self.peer_id:x}: {failure(exc)}") from None
        finally:
            self._waiting.pop(call_id, None)
        if outcome == Outcome.OK:
            return body
        if outcome == Outcome.ETCD_ERROR:
            raise errors.EtcdError(code, body.decode(errors="replace"))
        raise OSError(f"{code.name}: {body.decode(errors='replace')}")

    async def close(self) -> None:
        """End the connection; calls still waiting, or dialling, fail with OSError."""
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        self._forget(self._writer, "the peer network stopped")

    async def _connected(self) -> asyncio.StreamWriter:
        async with self._dialling:  # concurrent first calls share one connection
            writer = self._writer
            if writer is not None and not writer.transport.is_closing():
                return writer
            if self._closed:
                raise OSError(f"member {self.peer_id:x}: the peer network stopped")
            reader, writer = await connect(self.address, self._context)
            try:
                writer.write(self._hello)
                await expect(reader, Frame.ACCEPT)
                if self._closed:  # closed while dialling: no reader task may outlive it
                    raise OSError(f"member {self.peer_id:x}: the peer network stopped")
            except BaseException:
                writer.transport.abort()
                raise
            self._writer = writer
            self._reader = asyncio.create_task(
                self._read_answers(reader, writer), name=f"kvcore-peer-{self.peer_id:x}-calls"
            )
            return writer

    async def _read_answers(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        why = "the connection ended"
        try:
            while True:
                kind, payload = await read_frame(reader)
                if kind != Frame.ANSWER:
                    check_refusal(kind, payload)
                call_id, outcome, code, body = read_answer(payload)
                answered = self._waiting.get(call_id)
                if answered is not None and not answered.done():
                    answered.set_result((outcome, code, body))
        except (OSError, EOFError, ProtocolError) as exc:
            why = failure(exc)
            log.debug("peer %x: call connection to %s ended: %s", self.peer_id, self.address, why)
        finally:
            self._forget(writer, why)

    def _forget(self, writer: asyncio.StreamWriter | None, why: str) -> None:
        """Close ``writer``'s connection and fail the calls waiting on it."""
        if writer is None:
            return
        writer.transport.abort()
        if writer is self._writer:
            self._writer = None
            for answered in self._waiting.values():
                if not answered.done():
                    answered.set_exception(OSError(f"member {self.peer_id:x}: {why}"))


def _unpack(layout: struct.Struct, body: bytes) -> int:
    if len(body) != layout.size:
        raise OSError(f"an answer of {len(body)} bytes, expected {layout.size}")
    return layout.unpack(body)[0]
