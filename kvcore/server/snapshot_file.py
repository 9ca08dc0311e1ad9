"""The file ``etcdctl snapshot save`` writes: a backend dump, padded to whole 512-byte
pages, then the SHA-256 of everything before it.

That is the shape etcdctl checks (it refuses a file whose size is not a multiple of
512 plus 32) and the shape etcd itself sends; ``kvcore snapshot restore`` verifies the
digest before it loads anything. Both directions go chunk by chunk: neither the sender
nor the restorer holds the whole file in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

PAGE = 512
DIGEST_BYTES = hashlib.sha256().digest_size
SEND_CHUNK = 32 * 1024  # as etcd's snapshotSendBufferSize
_READ_CHUNK = 1 << 20


class SnapshotFileError(ValueError):
    """Not a whole, intact snapshot file."""


def frames(dump: Iterable[bytes], size_hint: int) -> Iterator[tuple[bytes, int]]:
    """(blob, bytes remaining after it) for each Snapshot message of a dump given in
    chunks; the digest comes last.

    The dump's length is known only at its end, so ``remaining`` counts down from
    ``size_hint`` and is an estimate until then; it is 0 only on the last blob and
    the digest (etcd's clients read blobs until the stream ends and do not use it).
    """
    digest = hashlib.sha256()
    buf = bytearray()
    sent = 0

    def estimate() -> int:
        return max(size_hint - sent, 1)

    for chunk in dump:
        buf += chunk
        while len(buf) > SEND_CHUNK:  # keep one back: it may be the last
            blob = bytes(buf[:SEND_CHUNK])
            del buf[:SEND_CHUNK]
            digest.update(blob)
            sent += len(blob)
            yield blob, estimate()
    buf += b"\0" * (-(sent + len(buf)) % PAGE)
    while buf:
        blob = bytes(buf[:SEND_CHUNK])
        del buf[:SEND_CHUNK]
        digest.update(blob)
        sent += len(blob)
        yield blob, len(buf)
    yield digest.digest(), 0


def verified_dump(path: Path) -> Iterator[bytes]:
    """The dump inside a snapshot file, in chunks, after checking its size and digest.

    Raises :class:`SnapshotFileError` before the first chunk when the file is not intact.
    """
    size = path.stat().st_size
    if size % PAGE != DIGEST_BYTES:
        raise SnapshotFileError(f"sha256 checksum not found [bytes: {size}]")
    body_bytes = size - DIGEST_BYTES
    digest = hashlib.sha256()
    for chunk in _read(path, body_bytes):
        digest.update(chunk)
    with path.open("rb") as f:
        f.seek(body_bytes)
        if f.read() != digest.digest():
            raise SnapshotFileError("snapshot file's sha256 checksum does not match its data")
    return _read(path, body_bytes)


def _read(path: Path, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        while length > 0:
            chunk = f.read(min(_READ_CHUNK, length))
            if not chunk:
                raise SnapshotFileError(f"{path} ended early")
            length -= len(chunk)
            yield chunk
