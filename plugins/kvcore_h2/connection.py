"""One client connection: HTTP/2 frames in, gRPC calls out, flow control both ways.

Everything runs on the event loop. Frames that one ``data_received`` produces go out
in one write; frames that calls produce between two loop turns go out together too
(a flush scheduled once per turn), so answers to concurrent calls share a send.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from typing import Any, Protocol

import hpack
import hpack.exceptions

from .frames import (
    DEFAULT_MAX_FRAME,
    DEFAULT_WINDOW,
    HEADER_BYTES,
    MAX_WINDOW,
    PREFACE,
    ErrorCode,
    Flag,
    FrameType,
    ProtocolError,
    Setting,
    frame,
    goaway,
    parse_header,
    rst_stream,
    settings,
    u32,
    unpad,
    window_update,
)

log = logging.getLogger(__name__)

# What this server lets a client send before it must wait for a WINDOW_UPDATE: large,
# so that a request up to the receive limit rarely waits; credited back at half.
STREAM_WINDOW = 4 * 1024 * 1024
CONNECTION_WINDOW = 16 * 1024 * 1024
MAX_HEADER_BLOCK = 1024 * 1024


class Call(Protocol):
    """What a stream's gRPC call takes from the connection (``kvcore_h2.calls``)."""

    def receive(self, data: bytes) -> None: ...

    def end_of_requests(self) -> None: ...

    def cancel(self) -> None: ...


class Router(Protocol):
    def open(self, conn: H2Connection, stream: Stream, headers: list[tuple[bytes, bytes]]) -> Call:
        """A call for a stream the client opened with ``headers``."""


class Stream:
    """A client-opened stream: what may still be sent on it, and what is queued for
    lack of flow-control window."""

    __slots__ = (
        "call",
        "id",
        "local_closed",
        "pending",
        "recv_unacked",
        "remote_closed",
        "reset",
        "send_window",
        "writable",
    )

    def __init__(self, stream_id: int, send_window: int) -> None:
        self.id = stream_id
        self.send_window = send_window
        self.recv_unacked = 0
        self.remote_closed = False
        self.local_closed = False
        self.reset = False  # reset by either side: nothing more goes out on it
        self.call: Call | None = None
        # (frame type, payload, end of stream), in order; DATA may wait for window.
        self.pending: collections.deque[tuple[FrameType, bytes, bool]] = collections.deque()
        self.writable: asyncio.Event | None = None  # made when a sender waits


class H2Connection(asyncio.Protocol):
    def __init__(
        self,
        router: Router,
        max_streams: int,
        on_close: Callable[[Any], None],
        http1: Callable[[], asyncio.Protocol] | None = None,
    ) -> None:
        self._router = router
        self._http1 = http1  # takes over a connection that speaks HTTP/1.x instead
        self._max_streams = max_streams
        self._on_close = on_close
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self.peer = ""
        self.common_name = ""
        self._buf = bytearray()
        self._preface = False
        self._decoder = hpack.Decoder()
        self._decoder.max_header_list_size = MAX_HEADER_BLOCK
        self.streams: dict[int, Stream] = {}
        self._last_stream_id = 0
        self._headers: tuple[int, int, bytearray] | None = None  # awaiting CONTINUATION
        self._send_window = DEFAULT_WINDOW
        self._peer_window = DEFAULT_WINDOW  # the client's initial stream window
        self._peer_max_frame = DEFAULT_MAX_FRAME
        self._recv_unacked = 0
        self._blocked: dict[int, Stream] = {}  # streams with DATA waiting for window
        self._out: list[bytes] = []
        self._flush_due = False
        self._paused = False  # the transport's buffer is full
        self._resumed: asyncio.Event | None = None
        self.going_away = False
        self._peer_going_away = False
        self.idle = asyncio.Event()  # set while no stream is open
        self.idle.set()

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        self.peer = _peer_name(transport.get_extra_info("peername"))
        self.common_name = _common_name(transport.get_extra_info("peercert"))

    def _greet(self) -> None:
        """The server's preface, sent once the client's shows it speaks HTTP/2 (until
        then it may be an HTTP/1.x client, which must not see a frame)."""
        self._out.append(
            settings(
                {
                    Setting.MAX_CONCURRENT_STREAMS: self._max_streams,
                    Setting.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
                    Setting.MAX_HEADER_LIST_SIZE: MAX_HEADER_BLOCK,
                }
            )
        )
        self._out.append(window_update(0, CONNECTION_WINDOW - DEFAULT_WINDOW))

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        try:
            at = 0
            if not self._preface:
                if buf[: len(PREFACE)] != PREFACE:
                    if PREFACE.startswith(bytes(buf)):
                        return  # more of it to come
                    http1 = _speaks_http1(buf)
                    if http1 is None:
                        return
                    if not http1 or self._http1 is None:
                        self._greet()
                        raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "not an HTTP/2 preface")
                    self._hand_over(self._http1())
                    return
                self._preface = True
                self._greet()
                at = len(PREFACE)
            end = len(buf)
            while end - at >= HEADER_BYTES:
                length, kind, flags, stream_id = parse_header(buf, at)
                if length > DEFAULT_MAX_FRAME:
                    raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, "frame over 16 KiB")
                start = at + HEADER_BYTES
                if end - start < length:
                    break
                at = start + length
                self._frame(kind, flags, stream_id, bytes(buf[start:at]))
            del buf[:at]
        except ProtocolError as exc:
            self._fail(exc.code, str(exc))
        self._flush()

    def _hand_over(self, protocol: asyncio.Protocol) -> None:
        """Give the connection, and what it sent so far, to ``protocol``."""
        transport, data = self._transport, bytes(self._buf)
        assert transport is not None
        self._transport = None
        self._on_close(self)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        protocol.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            stream.reset = True
            if stream.call is not None:
                stream.call.cancel()
            _wake(stream)
        self._blocked.clear()
        self._transport = None
        self.idle.set()
        if self._resumed is not None:
            self._resumed.set()
        self._on_close(self)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._resumed is not None:
            self._resumed.set()

    # --- frames in ------------------------------------------------------------------------

    def _frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self._headers is not None and kind != FrameType.CONTINUATION:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "header block interrupted")
        if kind == FrameType.DATA:
            self._on_data(flags, stream_id, payload)
        elif kind == FrameType.HEADERS:
            self._on_headers(flags, stream_id, payload)
        elif kind == FrameType.CONTINUATION:
            self._on_continuation(flags, stream_id, payload)
        elif kind == FrameType.WINDOW_UPDATE:
            self._on_window_update(stream_id, payload)
        elif kind == FrameType.SETTINGS:
            self._on_settings(flags, stream_id, payload)
        elif kind == FrameType.PING:
            if len(payload) != 8 or stream_id:
                raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, "bad PING")
            if not flags & Flag.ACK:
                self._out.append(frame(FrameType.PING, Flag.ACK, 0, payload))
        elif kind == FrameType.RST_STREAM:
            if len(payload) != 4 or not stream_id:
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "bad RST_STREAM")
            stream = self.streams.get(stream_id)
            if stream is not None:
                stream.reset = True
                self._close(stream)
                if stream.call is not None:
                    stream.call.cancel()
        elif kind == FrameType.GOAWAY:
            self._peer_going_away = True
            if not self.streams and self._transport is not None:
                self._transport.close()
        elif kind == FrameType.PUSH_PROMISE:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "a client may not push")
        # PRIORITY and unknown frame types are ignored, as RFC 9113 allows.

    def _on_data(self, flags: int, stream_id: int, payload: bytes) -> None:
        if not stream_id:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0")
        self._recv_unacked += len(payload)
        if self._recv_unacked >= CONNECTION_WINDOW // 2:
            self._out.append(window_update(0, self._recv_unacked))
            self._recv_unacked = 0
        data = unpad(payload, flags)
        stream = self.streams.get(stream_id)
        if stream is None or stream.remote_closed:
            if stream_id > self._last_stream_id:
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream")
            if stream is None:
                self._out.append(rst_stream(stream_id, ErrorCode.STREAM_CLOSED))
            return
        end = bool(flags & Flag.END_STREAM)
        if not end:
            stream.recv_unacked += len(payload)
            if stream.recv_unacked >= STREAM_WINDOW // 2:
                self._out.append(window_update(stream_id, stream.recv_unacked))
                stream.recv_unacked = 0
        call = stream.call
        if call is not None and data:
            call.receive(data)
        if end:
            self._remote_closed(stream)

    def _on_headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if not stream_id or not stream_id % 2:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "HEADERS on a server stream id")
        block = unpad(payload, flags)
        if flags & Flag.PRIORITY:
            block = block[5:]
        if flags & Flag.END_HEADERS:
            self._header_block(stream_id, flags, block)
        else:
            self._headers = (stream_id, flags, bytearray(block))

    def _on_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        if self._headers is None or self._headers[0] != stream_id:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "CONTINUATION out of place")
        _, first_flags, block = self._headers
        block += payload
        if len(block) > MAX_HEADER_BLOCK:
            raise ProtocolError(ErrorCode.ENHANCE_YOUR_CALM, "header block too large")
        if flags & Flag.END_HEADERS:
            self._headers = None
            self._header_block(stream_id, first_flags, bytes(block))

    def _header_block(self, stream_id: int, flags: int, block: bytes) -> None:
        try:
            headers = self._decoder.decode(block, raw=True)
        except hpack.exceptions.HPACKError as exc:
            raise ProtocolError(ErrorCode.COMPRESSION_ERROR, str(exc)) from None
        end = bool(flags & Flag.END_STREAM)
        stream = self.streams.get(stream_id)
        if stream is not None:  # trailers: they end the client's side
            if not end:
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "second HEADERS without END_STREAM")
            self._remote_closed(stream)
            return
        if stream_id <= self._last_stream_id:
            raise ProtocolError(ErrorCode.STREAM_CLOSED, "HEADERS on a closed stream")
        self._last_stream_id = stream_id
        if self.going_away or len(self.streams) >= self._max_streams:
            self._out.append(rst_stream(stream_id, ErrorCode.REFUSED_STREAM))
            return
        stream = Stream(stream_id, self._peer_window)
        self.streams[stream_id] = stream
        self.idle.clear()
        stream.call = self._router.open(self, stream, headers)
        if end and stream.id in self.streams:
            self._remote_closed(stream)

    def _on_window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, "bad WINDOW_UPDATE")
        increment = u32(payload) & 0x7FFFFFFF
        if not stream_id:
            if not increment:
                raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "zero WINDOW_UPDATE")
            self._send_window += increment
            if self._send_window > MAX_WINDOW:
                raise ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, "window over 2^31-1")
            self._unblock()
            return
        stream = self.streams.get(stream_id)
        if stream is None:
            return
        if not increment or stream.send_window + increment > MAX_WINDOW:
            code = ErrorCode.FLOW_CONTROL_ERROR if increment else ErrorCode.PROTOCOL_ERROR
            self._reset(stream, code)
            return
        stream.send_window += increment
        if stream.id in self._blocked:
            self._emit(stream)

    def _on_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id:
            raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & Flag.ACK:
            return
        if len(payload) % 6:
            raise ProtocolError(ErrorCode.FRAME_SIZE_ERROR, "bad SETTINGS length")
        for at in range(0, len(payload), 6):
            key, value = int.from_bytes(payload[at : at + 2], "big"), u32(payload, at + 2)
            if key == Setting.INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    raise ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, "initial window too large")
                delta, self._peer_window = value - self._peer_window, value
                for stream in self.streams.values():
                    stream.send_window += delta
            elif key == Setting.MAX_FRAME_SIZE:
                if not DEFAULT_MAX_FRAME <= value < 2**24:
                    raise ProtocolError(ErrorCode.PROTOCOL_ERROR, "bad MAX_FRAME_SIZE")
                self._peer_max_frame = value
        self._out.append(frame(FrameType.SETTINGS, Flag.ACK, 0))
        self._unblock()

    # --- frames out -------------------------------------------------------------------------

    def send(self, stream: Stream, kind: FrameType, payload: bytes, end: bool = False) -> None:
        """Queue HEADERS or DATA on ``stream`` behind what is already queued there; DATA
        waits for flow-control window. Dropped once the stream was reset."""
        if stream.reset or stream.local_closed:
            return
        stream.pending.append((kind, payload, end))
        if len(stream.pending) == 1:
            self._emit(stream)
        self._schedule_flush()

    async def writable(self, stream: Stream) -> None:
        """Return once ``stream`` has nothing queued and the socket takes more: how a
        streaming call keeps pace with a slow reader."""
        while (stream.pending or self._paused) and not stream.reset:
            if stream.pending:
                if stream.writable is None:
                    stream.writable = asyncio.Event()
                stream.writable.clear()
                await stream.writable.wait()
            else:
                if self._resumed is None:
                    self._resumed = asyncio.Event()
                self._resumed.clear()
                await self._resumed.wait()

    def reset(self, stream: Stream, code: ErrorCode) -> None:
        self._reset(stream, code)
        self._schedule_flush()

    def _reset(self, stream: Stream, code: ErrorCode) -> None:
        if stream.reset:
            return
        stream.reset = True
        self._out.append(rst_stream(stream.id, code))
        self._close(stream)
        if stream.call is not None:
            stream.call.cancel()

    def _emit(self, stream: Stream) -> None:
        """Move what fits of ``stream``'s queue into the output."""
        pending, out, max_frame = stream.pending, self._out, self._peer_max_frame
        while pending:
            kind, payload, end = pending[0]
            if kind != FrameType.DATA:
                pending.popleft()
                self._headers_out(stream.id, payload, end)
            else:
                room = min(stream.send_window, self._send_window)
                if payload and room <= 0:
                    self._blocked[stream.id] = stream
                    return
                sent = payload[:room]
                for at in range(0, max(len(sent), 1), max_frame):
                    chunk = sent[at : at + max_frame]
                    last = at + max_frame >= len(sent)
                    flags = Flag.END_STREAM if end and last and len(sent) == len(payload) else 0
                    out.append(frame(FrameType.DATA, flags, stream.id, chunk))
                stream.send_window -= len(sent)
                self._send_window -= len(sent)
                if len(sent) < len(payload):
                    pending[0] = (kind, payload[len(sent) :], end)
                    self._blocked[stream.id] = stream
                    return
                pending.popleft()
            if end:
                stream.local_closed = True
                if stream.remote_closed:
                    self._close(stream)
                else:
                    # The answer is complete: the client need send no more (grpc-go
                    # does the same).
                    out.append(rst_stream(stream.id, ErrorCode.NO_ERROR))
                    stream.reset = True
                    self._close(stream)
        self._blocked.pop(stream.id, None)
        _wake(stream)

    def _headers_out(self, stream_id: int, block: bytes, end: bool) -> None:
        max_frame = self._peer_max_frame
        flags = Flag.END_STREAM if end else 0
        if len(block) <= max_frame:
            self._out.append(frame(FrameType.HEADERS, flags | Flag.END_HEADERS, stream_id, block))
            return
        self._out.append(frame(FrameType.HEADERS, flags, stream_id, block[:max_frame]))
        for at in range(max_frame, len(block), max_frame):
            last = at + max_frame >= len(block)
            kind = FrameType.CONTINUATION
            self._out.append(
                frame(kind, Flag.END_HEADERS if last else 0, stream_id, block[at : at + max_frame])
            )

    def _unblock(self) -> None:
        for stream in list(self._blocked.values()):
            if self._send_window <= 0:
                return
            self._emit(stream)

    def _remote_closed(self, stream: Stream) -> None:
        stream.remote_closed = True
        if stream.call is not None:
            stream.call.end_of_requests()
        if stream.local_closed:
            self._close(stream)

    def _close(self, stream: Stream) -> None:
        if self.streams.pop(stream.id, None) is None:
            return
        self._blocked.pop(stream.id, None)
        _wake(stream)
        if not self.streams:
            self.idle.set()
            if (self.going_away or self._peer_going_away) and self._transport is not None:
                self._flush()
                self._transport.close()

    def _schedule_flush(self) -> None:
        if not self._flush_due and self._out:
            self._flush_due = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        if self._out and self._transport is not None:
            out, self._out = self._out, []
            self._transport.write(b"".join(out))

    def _fail(self, code: ErrorCode, reason: str) -> None:
        log.debug("closing the connection from %s: %s", self.peer, reason)
        self._out.append(goaway(self._last_stream_id, code, reason.encode()))
        self._flush()
        if self._transport is not None:
            self._transport.close()

    # --- shutting down ----------------------------------------------------------------------

    def go_away(self) -> None:
        """Take no new streams; close once the open ones end."""
        if self.going_away or self._transport is None:
            return
        self.going_away = True
        self._out.append(goaway(self._last_stream_id, ErrorCode.NO_ERROR))
        self._flush()
        if not self.streams:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()


def _speaks_http1(head: bytes | bytearray) -> bool | None:
    """Does a connection that opened with ``head`` speak HTTP/1.x (a request line's
    method, then a space)? None while too little has come to tell."""
    first = bytes(head[:16])
    method, space, _ = first.partition(b" ")
    if not space:
        undecided = len(first) < 16 and first.isalpha() and first.isupper()
        return None if undecided else False
    return method.isalpha() and method.isupper()


def _wake(stream: Stream) -> None:
    if stream.writable is not None:
        stream.writable.set()


def _peer_name(address: Any) -> str:
    """As gRPC names a peer: ``ipv4:127.0.0.1:5000``, ``ipv6:[::1]:5000``."""
    if not isinstance(address, tuple):
        return str(address or "")
    host, port = address[0], address[1]
    return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"


def _common_name(certificate: dict | None) -> str:
    """The common name of a client certificate the TLS handshake verified."""
    for rdn in (certificate or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return ""
