"""Reading JSON as Go's encoding/json reads it, errors and all.

etcd's gateway reads a request body with Go's ``json.Decoder``: its syntax errors name
the byte and what the scanner was looking for ("invalid character '}' looking for
beginning of object key string"), and what it then fails to unmarshal it says in Go's
words too. This scanner follows Go's state machine (encoding/json/scanner.go), so a
client sees the same texts from kvcore. Values come out as Python values, except that
numbers keep their literal (:class:`Number`) and strings their raw text
(:class:`String`), as jsonpb needs both.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SPACE = b" \t\r\n"
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF"
_ESCAPES = b'bfnrt\\/"'
# In a string, the bytes the scanner must look at: its end, an escape, a control byte.
_STRING_SPECIAL = re.compile(rb'["\\\x00-\x1f]')
_LITERALS = {ord("t"): (b"true", True), ord("f"): (b"false", False), ord("n"): (b"null", None)}


class NotJson(ValueError):
    """Not JSON, in Go's words."""


class BadSyntax(NotJson):
    """A byte Go's scanner refuses."""


class Incomplete(NotJson):
    """The data ends inside the value (Go: "unexpected EOF")."""


class Number(str):
    """A JSON number, as its literal."""


class String(str):
    """A JSON string's value, and ``raw``: its text between the quotes, unescaped."""

    raw: str


def quote_char(c: int) -> str:
    """A byte as Go's scanner quotes it in an error (encoding/json quoteChar)."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    if c == ord("\\"):
        return "'\\\\'"
    char = chr(c)  # Go makes a rune of the byte: 0xEF is 'ï'
    if char.isprintable():
        return f"'{char}'"
    escaped = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
    if c in escaped:
        return f"'{escaped[c]}'"
    return f"'\\x{c:02x}'" if c < 0x80 else f"'\\u{c:04x}'"


def first_value(data: bytes, final: bool = True) -> tuple[Any, int]:
    """The first JSON value of ``data`` and where it ends; leading whitespace is
    skipped, what follows the value is not looked at. Raises :class:`Incomplete` when
    the data ends first (a number at the very end counts as complete when ``final``)
    and :class:`BadSyntax` on anything else Go's scanner refuses."""
    scanner = _Scanner(data, final)
    value = scanner.value(_skip_space(data, 0), "looking for beginning of value")
    return value, scanner.pos


def whole_value(data: bytes) -> Any:
    """``data`` as one JSON value, as Go's ``json.Unmarshal`` reads it: nothing but
    whitespace may follow it."""
    try:
        value, end = first_value(data)
    except Incomplete:
        raise BadSyntax("unexpected end of JSON input") from None
    end = _skip_space(data, end)
    if end < len(data):
        raise BadSyntax(f"invalid character {quote_char(data[end])} after top-level value")
    return value


def _skip_space(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] in _SPACE:
        pos += 1
    return pos


class _Scanner:
    def __init__(self, data: bytes, final: bool) -> None:
        self.data = data
        self.final = final
        self.pos = 0

    def _byte(self, pos: int) -> int:
        if pos >= len(self.data):
            raise Incomplete("unexpected EOF")
        return self.data[pos]

    def _fail(self, pos: int, context: str) -> BadSyntax:
        return BadSyntax(f"invalid character {quote_char(self.data[pos])} {context}")

    def value(self, pos: int, context: str) -> Any:
        """The value starting at ``pos`` (whitespace already skipped); sets pos past it."""
        c = self._byte(pos)
        if c == ord("{"):
            return self._object(pos + 1)
        if c == ord("["):
            return self._array(pos + 1)
        if c == ord('"'):
            return self._string(pos + 1)
        if c == ord("-") or c in _DIGITS:
            return self._number(pos)
        if c in _LITERALS:
            return self._literal(pos, *_LITERALS[c])
        raise self._fail(pos, context)

    def _object(self, pos: int) -> dict[str, Any]:
        found: dict[str, Any] = {}
        pos = _skip_space(self.data, pos)
        if self._byte(pos) == ord("}"):
            self.pos = pos + 1
            return found
        while True:
            if self._byte(pos) != ord('"'):
                raise self._fail(pos, "looking for beginning of object key string")
            key = self._string(pos + 1)
            pos = _skip_space(self.data, self.pos)
            if self._byte(pos) != ord(":"):
                raise self._fail(pos, "after object key")
            pos = _skip_space(self.data, pos + 1)
            found[key] = self.value(pos, "looking for beginning of value")
            pos = _skip_space(self.data, self.pos)
            c = self._byte(pos)
            if c == ord("}"):
                self.pos = pos + 1
                return found
            if c != ord(","):
                raise self._fail(pos, "after object key:value pair")
            pos = _skip_space(self.data, pos + 1)

    def _array(self, pos: int) -> list[Any]:
        items: list[Any] = []
        pos = _skip_space(self.data, pos)
        if self._byte(pos) == ord("]"):
            self.pos = pos + 1
            return items
        while True:
            items.append(self.value(pos, "looking for beginning of value"))
            pos = _skip_space(self.data, self.pos)
            c = self._byte(pos)
            if c == ord("]"):
                self.pos = pos + 1
                return items
            if c != ord(","):
                raise self._fail(pos, "after array element")
            pos = _skip_space(self.data, pos + 1)

    def _string(self, start: int) -> String:
        data = self.data
        pos = start
        while True:
            special = _STRING_SPECIAL.search(data, pos)
            if special is None:
                raise Incomplete("unexpected EOF")
            pos = special.start()
            c = data[pos]
            if c == ord('"'):
                break
            if c < 0x20:
                raise self._fail(pos, "in string literal")
            pos += 1  # a backslash: check the escape
            c = self._byte(pos)
            if c == ord("u"):
                for i in range(pos + 1, pos + 5):
                    if self._byte(i) not in _HEX:
                        raise self._fail(i, "in \\u hexadecimal character escape")
                pos += 4
            elif c not in _ESCAPES:
                raise self._fail(pos, "in string escape code")
            pos += 1
        self.pos = pos + 1
        raw = data[start:pos].decode("utf-8", errors="replace")
        # Go decodes bad UTF-8 and lone surrogates to U+FFFD.
        text = json.loads(f'"{raw}"').encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        value = String(text)
        value.raw = raw
        return value

    def _number(self, start: int) -> Number:
        pos = start
        if self.data[pos] == ord("-"):
            pos += 1
            if self._byte(pos) not in _DIGITS:
                raise self._fail(pos, "in numeric literal")
        pos = self._digits(pos) if self.data[pos] != ord("0") else pos + 1
        if self._peek(pos) == ord("."):
            pos += 1
            if self._byte(pos) not in _DIGITS:
                raise self._fail(pos, "after decimal point in numeric literal")
            pos = self._digits(pos)
        if self._peek(pos) in (ord("e"), ord("E")):
            pos += 1
            if self._byte(pos) in (ord("+"), ord("-")):
                pos += 1
            if self._byte(pos) not in _DIGITS:
                raise self._fail(pos, "in exponent of numeric literal")
            pos = self._digits(pos)
        if pos >= len(self.data) and not self.final:
            raise Incomplete("unexpected EOF")  # more digits may follow
        self.pos = pos
        return Number(self.data[start:pos].decode())

    def _peek(self, pos: int) -> int | None:
        """The byte at ``pos``, None at the end (where a number may end)."""
        if pos < len(self.data):
            return self.data[pos]
        if not self.final:
            raise Incomplete("unexpected EOF")
        return None

    def _digits(self, pos: int) -> int:
        while pos < len(self.data) and self.data[pos] in _DIGITS:
            pos += 1
        return pos

    def _literal(self, start: int, word: bytes, value: Any) -> Any:
        for i in range(1, len(word)):
            if self._byte(start + i) != word[i]:
                expected = chr(word[i])
                raise self._fail(start + i, f"in literal {word.decode()} (expecting '{expected}')")
        self.pos = start + len(word)
        return value
