"""The file ``etcdctl snapshot save`` writes: a backend dump, padded to whole 512-byte
pages, then the SHA-256 of everything before it.

That is the shape etcdctl checks (it refuses a file whose size is not a multiple of
512 plus 32) and the shape etcd itself sends; ``kvcore snapshot restore`` verifies the
digest before it loads anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

PAGE = 512
DIGEST_BYTES = hashlib.sha256().digest_size
SEND_CHUNK = 32 * 1024  # as etcd's snapshotSendBufferSize


class SnapshotFileError(ValueError):
    """Not a whole, intact snapshot file."""


def padded(dump: bytes) -> bytes:
    return dump + b"\0" * (-len(dump) % PAGE)


def stream(dump: bytes) -> Iterator[tuple[bytes, int]]:
    """(blob, bytes remaining after it) for each message; the digest comes last."""
    body = padded(dump)
    for start in range(0, len(body), SEND_CHUNK):
        blob = body[start : start + SEND_CHUNK]
        yield blob, len(body) - start - len(blob)
    yield hashlib.sha256(body).digest(), 0


def verified_dump(data: bytes) -> bytes:
    """The dump inside a snapshot file, after checking its size and digest."""
    if len(data) % PAGE != DIGEST_BYTES:
        raise SnapshotFileError(f"sha256 checksum not found [bytes: {len(data)}]")
    body, digest = data[:-DIGEST_BYTES], data[-DIGEST_BYTES:]
    if hashlib.sha256(body).digest() != digest:
        raise SnapshotFileError("snapshot file's sha256 checksum does not match its data")
    return body
