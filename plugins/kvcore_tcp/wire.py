"""The tcp peer protocol: frames on a connection, and what each frame kind carries.

A frame is a 5-byte header, ``>IB`` (payload length, kind), then the payload; a frame
over MAX_FRAME_BYTES is refused by closing the connection. All integers are big-endian.

Every connection opens with HELLO from the side that dialled (protocol version, what
the connection is for, cluster id, sender id); the listener answers ACCEPT, or REFUSE
(an ``errors.Code`` and a reason) and closes. Then, by connection kind:

* STREAM: MESSAGES frames one way, each holding raft messages (``kvcore.raft.codec``),
  each message prefixed with its u32 length. The listener sends nothing more, unless
  it refuses a message (another member's, or one that does not decode).
* SNAPSHOT: one SNAP message: SNAP_HEAD (u64 data size, then the message without its
  data), SNAP_DATA frames of the data in order, then the listener's SNAP_DONE.
* CALL: REQUEST frames (u32 call id, u8 method, body), each answered, in any order,
  with ANSWER (u32 call id, u8 outcome, u8 code, body).
"""

from __future__ import annotations

import asyncio
import enum
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from kvcore.errors import Code

VERSION = 1
# Raft caps an APP message near 1 MiB, but a batch of messages or one large entry can
# be bigger, as gRPC's limit between members allowed. A snapshot's data is cut into
# pieces well under this.
MAX_FRAME_BYTES = 64 * 1024 * 1024

HEADER = struct.Struct(">IB")
LENGTH = struct.Struct(">I")
_HELLO = struct.Struct(">BBQQ")
_CODE = struct.Struct(">B")
_SIZE = struct.Struct(">Q")
_REQUEST = struct.Struct(">IB")
_ANSWER = struct.Struct(">IBB")
# The bodies of LEASE_RENEW calls: the lease id asked about, the TTL answered.
LEASE_ID = struct.Struct(">Q")
TTL = struct.Struct(">q")


class Frame(enum.IntEnum):
    HELLO = 1
    ACCEPT = 2
    REFUSE = 3
    MESSAGES = 4
    SNAP_HEAD = 5
    SNAP_DATA = 6
    SNAP_DONE = 7
    REQUEST = 8
    ANSWER = 9


class Conn(enum.IntEnum):
    """What a connection carries, as its HELLO says."""

    STREAM = 1
    SNAPSHOT = 2
    CALL = 3


class Method(enum.IntEnum):
    MEMBERS = 1  # body empty; answer: PeerHandler.members()
    LEASE_RENEW = 2  # body u64 lease id; answer: i64 TTL
    LEASE_TIME_TO_LIVE = 3  # body and answer: LeaseTimeToLiveRequest / Response
    MEMBER_PROMOTE = 4  # body and answer: MemberPromoteRequest / Response


class Outcome(enum.IntEnum):
    OK = 0  # body: the answer
    ETCD_ERROR = 1  # the handler's EtcdError: code, body its message
    FAILED = 2  # the call was refused or broken: code, body why


class ProtocolError(Exception):
    """The other side broke the protocol; the connection is closed."""


class Refused(ConnectionRefusedError):
    """The listener refused the connection (or a message on it); ``str`` is
    ``"CODE: reason"``, as a gRPC status reads."""

    def __init__(self, code: Code, why: str) -> None:
        super().__init__(f"{code.name}: {why}")
        self.code = code
        self.why = why


def frame_name(kind: int) -> str:
    """``kind`` by name for errors, by number if it has none."""
    try:
        return Frame(kind).name
    except ValueError:
        return f"kind {kind}"


def frame(kind: Frame, payload: bytes = b"") -> bytes:
    return HEADER.pack(len(payload), kind) + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next frame's kind (not checked) and payload. ProtocolError for an oversized
    frame; ``asyncio.IncompleteReadError`` (an EOFError) if the connection ends."""
    size, kind = HEADER.unpack(await reader.readexactly(HEADER.size))
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(f"a frame of {size} bytes exceeds {MAX_FRAME_BYTES}")
    return kind, await reader.readexactly(size) if size else b""


# --- HELLO, ACCEPT, REFUSE -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    conn: Conn
    cluster_id: int
    sender_id: int

    def encode(self) -> bytes:
        return frame(Frame.HELLO, _HELLO.pack(VERSION, self.conn, self.cluster_id, self.sender_id))

    @classmethod
    def decode(cls, kind: int, payload: bytes) -> Hello:
        """ProtocolError unless this is a HELLO this version speaks."""
        if kind != Frame.HELLO or len(payload) != _HELLO.size:
            raise ProtocolError("the connection did not open with a hello")
        version, conn, cluster_id, sender_id = _HELLO.unpack(payload)
        if version != VERSION:
            raise ProtocolError(f"protocol version {version}; this member speaks {VERSION}")
        try:
            return cls(Conn(conn), cluster_id, sender_id)
        except ValueError:
            raise ProtocolError(f"unknown connection kind {conn}") from None


def refusal(code: Code, why: str) -> bytes:
    return frame(Frame.REFUSE, _CODE.pack(code) + why.encode())


def check_refusal(kind: int, payload: bytes) -> None:
    """Raise the Refused a REFUSE frame carries; ProtocolError for a frame that is
    neither REFUSE nor, where one is due, the expected answer."""
    if kind == Frame.REFUSE and payload:
        raise Refused(_code(payload[0]), payload[1:].decode(errors="replace"))
    raise ProtocolError(f"an unexpected {frame_name(kind)} frame")


async def expect(reader: asyncio.StreamReader, wanted: Frame) -> bytes:
    """The payload of the next frame, which must be ``wanted``; raises the peer's
    refusal as Refused."""
    kind, payload = await read_frame(reader)
    if kind != wanted:
        check_refusal(kind, payload)
    return payload


# --- MESSAGES --------------------------------------------------------------------------


def split_messages(payload: bytes) -> Iterator[memoryview]:
    """The encoded raft messages of a MESSAGES payload; ProtocolError if it is cut."""
    view = memoryview(payload)
    at, end = 0, len(view)
    while at < end:
        if at + LENGTH.size > end:
            raise ProtocolError("a message's length is cut short")
        (size,) = LENGTH.unpack_from(view, at)
        at += LENGTH.size
        if at + size > end:
            raise ProtocolError("a message is cut short")
        yield view[at : at + size]
        at += size


# --- SNAP_HEAD -------------------------------------------------------------------------


def snap_head(total_size: int, message: bytes) -> bytes:
    return frame(Frame.SNAP_HEAD, _SIZE.pack(total_size) + message)


def read_snap_head(payload: bytes) -> tuple[int, bytes]:
    """(data size, the message without its data)."""
    if len(payload) < _SIZE.size:
        raise ProtocolError("a snapshot head is cut short")
    return _SIZE.unpack_from(payload)[0], payload[_SIZE.size :]


# --- REQUEST, ANSWER -------------------------------------------------------------------


def request(call_id: int, method: Method, body: bytes) -> bytes:
    return frame(Frame.REQUEST, _REQUEST.pack(call_id, method) + body)


def read_request(payload: bytes) -> tuple[int, int, bytes]:
    """(call id, method (not checked), body)."""
    if len(payload) < _REQUEST.size:
        raise ProtocolError("a request is cut short")
    call_id, method = _REQUEST.unpack_from(payload)
    return call_id, method, payload[_REQUEST.size :]


def answer(call_id: int, outcome: Outcome, code: Code, body: bytes) -> bytes:
    return frame(Frame.ANSWER, _ANSWER.pack(call_id, outcome, code) + body)


def read_answer(payload: bytes) -> tuple[int, Outcome, Code, bytes]:
    if len(payload) < _ANSWER.size:
        raise ProtocolError("an answer is cut short")
    call_id, outcome, code = _ANSWER.unpack_from(payload)
    try:
        return call_id, Outcome(outcome), _code(code), payload[_ANSWER.size :]
    except ValueError:
        raise ProtocolError(f"unknown call outcome {outcome}") from None


def _code(value: int) -> Code:
    try:
        return Code(value)
    except ValueError:
        return Code.UNKNOWN
