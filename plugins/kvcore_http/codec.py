"""JSON as etcd's gateway reads and writes it (grpc-gateway with Go's jsonpb).

Written: proto field names as declared (``create_revision``, ``dbSize``, ``ID``),
fields at their default left out, int64 as strings, bytes as base64, enums by name,
compact, with ``<``, ``>`` and ``&`` escaped as Go escapes them. Read: either the proto
or the camel-case name, int64 as a number or a string, enums by name or number, unknown
fields ignored; bytes only as standard base64 with its padding, and enums only by a
name they have (Go's decoder refuses what Python's would let through); a body's first
JSON value is the request, and what follows it is not read.
"""

from __future__ import annotations

import binascii
import functools
import http
import json
import string
from typing import Any

from google.protobuf import descriptor, json_format
from google.protobuf.message import Message

from kvcore.errors import Code, EtcdError

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


_BASE64_ALPHABET = frozenset(string.ascii_letters + string.digits + "+/")
_FieldDescriptor = descriptor.FieldDescriptor
_CHECKED_TYPES = (
    _FieldDescriptor.TYPE_BYTES,
    _FieldDescriptor.TYPE_ENUM,
    _FieldDescriptor.TYPE_MESSAGE,
)


class BadRequestBody(Exception):
    """A request body that is not the JSON form of the RPC's request message."""


def _base64_error(text: str) -> int | None:
    """Where Go's standard base64 decoder fails on ``text``, or None if it does not."""
    data = text.replace("\r", "").replace("\n", "")
    try:
        binascii.a2b_base64(data, strict_mode=True)
        if len(data) % 4 == 0:  # strict mode still lets extra "=" through
            return None
    except binascii.Error:
        pass  # find where, as Go tells it
    body = data.rstrip("=")
    for i, char in enumerate(body):
        if char not in _BASE64_ALPHABET:
            return i
    return len(data) - (len(data) % 4 or 4)  # a quantum cut short or over-padded


def _go_name(enum: descriptor.EnumDescriptor) -> str:
    """``etcdserverpb.RangeRequest.SortOrder`` as Go names the type it generates."""
    package = enum.file.package
    nested = enum.full_name.removeprefix(package + ".")
    return f"{package}.{nested.replace('.', '_')}"


@functools.cache
def _nested(message: descriptor.Descriptor) -> dict[str, _FieldDescriptor]:
    """The bytes, enum and message fields of ``message``, by proto and by JSON name."""
    found = {}
    for field in message.fields:
        if field.type in _CHECKED_TYPES:
            found[field.name] = found[field.json_name] = field
    return found


def _check_bytes(value: dict[str, Any], message: descriptor.Descriptor) -> None:
    fields = _nested(message)
    for name, item in value.items():
        field = fields.get(name)
        if field is None:
            continue
        items = item if isinstance(item, list) else [item]
        for one in items:
            if field.type == _FieldDescriptor.TYPE_BYTES:
                if isinstance(one, str) and (at := _base64_error(one)) is not None:
                    raise BadRequestBody(f"illegal base64 data at input byte {at}")
            elif field.type == _FieldDescriptor.TYPE_ENUM:
                enum = field.enum_type
                if isinstance(one, str) and one not in enum.values_by_name:
                    raise BadRequestBody(
                        f"unknown value {json.dumps(one)} for enum {_go_name(enum)}"
                    )
            elif isinstance(one, dict):
                _check_bytes(one, field.message_type)


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
    """A request message from one parsed JSON value (``null`` is the empty message)."""
    message = cls()
    if value is None:
        return message
    if not isinstance(value, dict):
        raise BadRequestBody(f"expected a JSON object for {cls.DESCRIPTOR.full_name}")
    _check_bytes(value, cls.DESCRIPTOR)
    try:
        json_format.ParseDict(value, message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise BadRequestBody(str(exc)) from None
    return message


_DECODER = json.JSONDecoder()
_JSON_SPACE = " \t\r\n"


def decode(body: bytes, cls: type[Message]) -> Message:
    """A request message from a body's first JSON value, as Go's decoder reads it (an
    empty body is the empty message; what follows the value is left unread)."""
    try:
        text = body.decode().lstrip(_JSON_SPACE)
    except UnicodeDecodeError as exc:
        raise BadRequestBody(str(exc)) from None
    if not text:
        return cls()
    try:
        value, _ = _DECODER.raw_decode(text)
    except json.JSONDecodeError as exc:
        raise BadRequestBody("unexpected EOF" if exc.pos >= len(text) else str(exc)) from None
    return decode_value(value, cls)


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
