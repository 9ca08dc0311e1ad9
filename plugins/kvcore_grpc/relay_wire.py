"""Frames between the gRPC worker processes and the server they relay calls to.

A unix stream socket per worker carries many calls at once. Each frame is a header
(payload length, kind, call id) and a payload:

* ``HELLO`` (worker -> server, call 0): the worker listens; payload: its port (u32).
* ``CALL`` (worker -> server): a whole unary call: its opening (u32 length first, as
  below), then the request. The server answers with one ``REPLY``: the status (as in
  ``STATUS``, u32 message length first), then the response when the status is OK.
* ``OPEN`` (worker -> server): a streaming call starts; payload: the method path, the
  peer, the verified client certificate's common name and the request metadata, as
  NUL-separated UTF-8 (HTTP/2 headers hold no NUL).
* ``MSG`` (both ways): one request or response message, serialized.
* ``END`` (worker -> server): the client sent its last message.
* ``CANCEL`` (worker -> server): the client went away.
* ``STATUS`` (server -> worker): the call is over; payload: grpc status code (u8) and
  the status message (UTF-8).
"""

from __future__ import annotations

import asyncio
import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass

HEADER = struct.Struct("<IBQ")
_PORT = struct.Struct("<I")
_CODE = struct.Struct("<B")
MAX_FRAME_BYTES = 2**31 - 1


class Kind(enum.IntEnum):
    HELLO = 1
    OPEN = 2
    MSG = 3
    END = 4
    CANCEL = 5
    STATUS = 6
    CALL = 7
    REPLY = 8


@dataclass(frozen=True, slots=True)
class Opening:
    method: str  # "/etcdserverpb.KV/Put"
    peer: str
    common_name: str
    metadata: list[str]  # key, value, key, value, ...

    def encode(self) -> bytes:
        return "\0".join([self.method, self.peer, self.common_name, *self.metadata]).encode()

    @classmethod
    def decode(cls, payload: bytes) -> Opening:
        method, peer, common_name, *metadata = payload.decode().split("\0")
        return cls(method, peer, common_name, metadata)


_LENGTH = struct.Struct("<I")


def call_frame(call_id: int, opening: Opening, request: bytes) -> bytes:
    head = opening.encode()
    return frame(Kind.CALL, call_id, _LENGTH.pack(len(head)) + head + request)


def read_call(payload: bytes) -> tuple[Opening, bytes]:
    (size,) = _LENGTH.unpack_from(payload)
    end = _LENGTH.size + size
    return Opening.decode(payload[_LENGTH.size : end]), payload[end:]


def reply_frame(call_id: int, code: int, message: str, response: bytes) -> bytes:
    text = message.encode()
    return frame(Kind.REPLY, call_id, _CODE.pack(code) + _LENGTH.pack(len(text)) + text + response)


def read_reply(payload: bytes) -> tuple[int, str, bytes]:
    code = payload[0]
    (size,) = _LENGTH.unpack_from(payload, 1)
    start = 1 + _LENGTH.size
    return code, payload[start : start + size].decode(), payload[start + size :]


def frame(kind: Kind, call: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(len(payload), kind, call) + payload


def hello(port: int) -> bytes:
    return frame(Kind.HELLO, 0, _PORT.pack(port))


def read_port(payload: bytes) -> int:
    return _PORT.unpack(payload)[0]


def status(call: int, code: int, message: str) -> bytes:
    return frame(Kind.STATUS, call, _CODE.pack(code) + message.encode())


def read_status(payload: bytes) -> tuple[int, str]:
    return payload[0], payload[1:].decode()


class FrameProtocol(asyncio.Protocol):
    """Splits the byte stream into frames for ``on_frame(kind, call, payload)``; writes
    of one loop turn go out in one system call."""

    def __init__(self, on_frame: Callable[[Kind, int, bytes], None]) -> None:
        self._on_frame = on_frame
        self._buffer = bytearray()
        self._pending: list[bytes] = []
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(data)

    def close(self) -> None:
        """Close once what this turn wrote is out."""
        self._flush()
        if self.transport is not None:
            self.transport.close()

    def _flush(self) -> None:
        if self._pending and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self._pending))
        self._pending.clear()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= HEADER.size:
            size, kind, call = HEADER.unpack_from(buffer)
            end = HEADER.size + size
            if len(buffer) < end:
                break
            payload = bytes(buffer[HEADER.size : end])
            del buffer[:end]
            self._on_frame(Kind(kind), call, payload)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
