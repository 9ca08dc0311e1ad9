"""Go's ``time.ParseDuration`` format, as etcd's duration flags take it: "300ms", "1.5h",
"1h30m", "2m3.5s"."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse(text: str) -> float:
    """Seconds in ``text``; ValueError for anything Go would refuse (or a negative)."""
    pos, total = 0, 0.0
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            raise ValueError(f"invalid duration {text!r} (expected e.g. 30s, 5m, 1h30m)")
        total += float(match[1]) * _UNITS[match[2]]
        pos = match.end()
    if not text:
        raise ValueError("invalid duration '' (expected e.g. 30s, 5m, 1h30m)")
    return total
