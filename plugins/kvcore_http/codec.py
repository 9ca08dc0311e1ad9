"""JSON as etcd's gateway reads and writes it (grpc-gateway with Go's jsonpb).

Written: proto field names as declared (``create_revision``, ``dbSize``, ``ID``),
fields at their default left out, int64 as strings, bytes as base64, enums by name,
compact, with ``<``, ``>`` and ``&`` escaped as Go escapes them. Read as Go reads it
(:mod:`gojson`, :mod:`jsonpb`), errors in Go's words; a body's first JSON value is the
request, and what follows it is not read.
"""

from __future__ import annotations

import http
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from kvcore.errors import Code, EtcdError

from . import gojson, jsonpb

_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})

# grpc-gateway's HTTPStatusFromCode, in the version etcd serves.
HTTP_STATUS = {
    Code.OK: 200,
    Code.CANCELLED: 408,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.UNAUTHENTICATED: 401,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 412,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
}


class BadRequestBody(Exception):
    """A request body that is not the JSON form of the RPC's request message."""


def _dumps(data: Any) -> bytes:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.translate(_GO_ESCAPES).encode()


def _as_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def encode(message: Message) -> bytes:
    """A unary response body."""
    return _dumps(_as_dict(message))


def encode_result(message: Message) -> bytes:
    """One message of a streamed response: ``{"result": ...}`` and a newline."""
    return _dumps({"result": _as_dict(message)}) + b"\n"


def decode_value(value: Any, cls: type[Message]) -> Message:
    """A request message from one :mod:`gojson` value (``null`` is the empty message)."""
    message = cls()
    if value is None:
        return message
    try:
        jsonpb.fill(message, value)
    except jsonpb.Unfit as exc:
        raise BadRequestBody(str(exc)) from None
    return message


JSON_SPACE = b" \t\r\n"


def decode(body: bytes, cls: type[Message]) -> Message:
    """A request message from a body's first JSON value, as Go's decoder reads it (an
    empty body is the empty message; what follows the value is left unread)."""
    if not body.strip(JSON_SPACE):
        return cls()
    decoded = decode_first(body, cls, final=True)
    assert decoded is not None  # final: complete or an error
    return decoded[0]


def decode_first(data: bytes, cls: type[Message], final: bool) -> tuple[Message, int] | None:
    """The message ``data``'s first JSON value gives, and where that value ends; None
    if ``data`` ends inside it and more may come (not ``final``)."""
    try:
        value, end = gojson.first_value(data, final)
    except gojson.Incomplete as exc:
        if not final:
            return None
        raise BadRequestBody(str(exc)) from None
    except gojson.NotJson as exc:
        raise BadRequestBody(str(exc)) from None
    return decode_value(value, cls), end


def error_body(code: Code, message: str) -> bytes:
    """The body of a failed unary call."""
    return _dumps({"error": message, "message": message, "code": int(code)})


def stream_error_body(code: Code, message: str) -> bytes:
    """What a streamed call writes when it fails."""
    status = HTTP_STATUS[code]
    return _dumps(
        {
            "error": {
                "grpc_code": int(code),
                "http_code": status,
                "message": message,
                "http_status": http.HTTPStatus(status).phrase,
            }
        }
    )


def failure(exc: BaseException) -> tuple[Code, str]:
    """The code and message a handler's exception puts on the wire."""
    if isinstance(exc, EtcdError):
        return exc.code, exc.message
    return Code.UNKNOWN, str(exc) or type(exc).__name__
