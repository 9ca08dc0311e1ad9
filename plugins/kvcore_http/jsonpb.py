"""A request message from a JSON value, as etcd's gateway (golang/protobuf's jsonpb)
fills one: field by field in declaration order, the first field that does not fit
failing the request with Go's words for it.

What it takes: a field by its proto or its JSON (camel-case) name, null as "not set",
int64 and friends as a number or a string holding one, enums by name or number, bytes
as standard base64 (or, as Go takes a []byte, an array of numbers); unknown fields are
ignored. :mod:`gojson` read the value, so numbers and strings carry their literals.
"""

from __future__ import annotations

import binascii
import functools
import string
from typing import Any

from google.protobuf import descriptor
from google.protobuf.message import Message

from .gojson import BadSyntax, Number, String, whole_value

_Field = descriptor.FieldDescriptor

# Go's names for the types protobuf's scalar fields become.
_GO_INTEGERS = {
    _Field.TYPE_INT64: ("int64", -(2**63), 2**63 - 1),
    _Field.TYPE_SINT64: ("int64", -(2**63), 2**63 - 1),
    _Field.TYPE_SFIXED64: ("int64", -(2**63), 2**63 - 1),
    _Field.TYPE_UINT64: ("uint64", 0, 2**64 - 1),
    _Field.TYPE_FIXED64: ("uint64", 0, 2**64 - 1),
    _Field.TYPE_INT32: ("int32", -(2**31), 2**31 - 1),
    _Field.TYPE_SINT32: ("int32", -(2**31), 2**31 - 1),
    _Field.TYPE_SFIXED32: ("int32", -(2**31), 2**31 - 1),
    _Field.TYPE_UINT32: ("uint32", 0, 2**32 - 1),
    _Field.TYPE_FIXED32: ("uint32", 0, 2**32 - 1),
}
_GO_MESSAGE = "map[string]json.RawMessage"
_GO_REPEATED = "[]json.RawMessage"
_BASE64_ALPHABET = frozenset(string.ascii_letters + string.digits + "+/")
_UINT8 = ("uint8", 0, 255)


class Unfit(ValueError):
    """A JSON value that does not fit the message, in Go's words."""


def fill(message: Message, value: Any) -> None:
    """Set ``message``'s fields from ``value``, a :func:`gojson.first_value` result."""
    if not isinstance(value, dict):
        raise _type_error(value, _GO_MESSAGE)
    for field in _in_jsonpb_order(message.DESCRIPTOR):
        # Named both ways, the camel-case name wins, as in jsonpb.
        item = value[field.json_name] if field.json_name in value else value.get(field.name)
        if item is not None:
            _set(message, field, item)


@functools.cache
def _in_jsonpb_order(message_type: descriptor.Descriptor) -> tuple[_Field, ...]:
    """jsonpb walks the Go struct: plain fields in order, then the oneofs' members."""
    return tuple(sorted(message_type.fields, key=lambda f: f.containing_oneof is not None))


def _set(message: Message, field: _Field, item: Any) -> None:
    if field.is_repeated:
        if not isinstance(item, list):
            raise _type_error(item, _GO_REPEATED)
        target = getattr(message, field.name)
        for one in item:
            if field.type == _Field.TYPE_MESSAGE:
                fill(target.add(), one)
            else:
                target.append(_scalar(field, one))
    elif field.type == _Field.TYPE_MESSAGE:
        sub = getattr(message, field.name)
        sub.SetInParent()
        fill(sub, item)
    else:
        setattr(message, field.name, _scalar(field, item))


def _scalar(field: _Field, item: Any) -> Any:
    if field.type == _Field.TYPE_ENUM:
        return _enum(field.enum_type, item)
    if field.type in _GO_INTEGERS:
        if isinstance(item, String):
            # jsonpb takes a quoted integer by reading what is between the quotes.
            try:
                item = whole_value(item.raw.encode())
            except BadSyntax as exc:
                raise Unfit(str(exc)) from None
        return _integer(item, _GO_INTEGERS[field.type])
    if field.type == _Field.TYPE_BOOL:
        if not isinstance(item, bool):
            raise _type_error(item, "bool")
        return item
    if field.type == _Field.TYPE_STRING:
        if not isinstance(item, String):
            raise _type_error(item, "string")
        return str(item)
    if field.type == _Field.TYPE_BYTES:
        return _bytes(item)
    if field.type in (_Field.TYPE_DOUBLE, _Field.TYPE_FLOAT):
        if not isinstance(item, Number):
            raise _type_error(item, "float64")
        return float(item)
    raise Unfit(f"field {field.full_name} of an unsupported type")


def _integer(item: Any, go_type: tuple[str, int, int]) -> int:
    name, low, high = go_type
    if not isinstance(item, Number):
        raise _type_error(item, name)
    try:
        number = int(item, 10)  # Go's ParseInt: no fraction, no exponent
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise Unfit(f"json: cannot unmarshal number {item} into Go value of type {name}")
    return number


def _enum(enum: descriptor.EnumDescriptor, item: Any) -> int:
    go_name = _go_enum_name(enum)
    if isinstance(item, String):
        value = enum.values_by_name.get(str(item))
        if value is None:
            raise Unfit(f'unknown value "{item}" for enum {go_name}')
        return value.number
    return _integer(item, (go_name, -(2**31), 2**31 - 1))


def _go_enum_name(enum: descriptor.EnumDescriptor) -> str:
    """``etcdserverpb.RangeRequest.SortOrder`` as Go names the type it generates."""
    package = enum.file.package
    nested = enum.full_name.removeprefix(package + ".")
    return f"{package}.{nested.replace('.', '_')}"


def _bytes(item: Any) -> bytes:
    if isinstance(item, list):  # Go fills a []byte from an array of numbers too
        return bytes(_integer(one, _UINT8) for one in item)
    if not isinstance(item, String):
        raise _type_error(item, "[]uint8")
    data = str(item).replace("\r", "").replace("\n", "")
    at = _base64_error(data)
    if at is not None:
        raise Unfit(f"illegal base64 data at input byte {at}")
    return binascii.a2b_base64(data)


def _base64_error(data: str) -> int | None:
    """Where Go's standard base64 decoder fails on ``data``, or None if it does not."""
    try:
        binascii.a2b_base64(data, strict_mode=True)
        if len(data) % 4 == 0:  # strict mode still lets extra "=" through
            return None
    except ValueError:  # binascii.Error, or a character beyond ASCII
        pass  # find where, as Go tells it
    body = data.rstrip("=")
    for i, char in enumerate(body):
        if char not in _BASE64_ALPHABET:
            return i
    return len(data) - (len(data) % 4 or 4)  # a quantum cut short or over-padded


def _type_error(item: Any, go_type: str) -> Unfit:
    return Unfit(f"json: cannot unmarshal {_kind(item)} into Go value of type {go_type}")


def _kind(item: Any) -> str:
    """What Go's UnmarshalTypeError calls a JSON value."""
    if isinstance(item, bool):
        return "bool"
    if isinstance(item, Number):
        return "number"
    if isinstance(item, String):
        return "string"
    return "array" if isinstance(item, list) else "object"
