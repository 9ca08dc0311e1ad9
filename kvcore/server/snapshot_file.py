"""The file ``etcdctl snapshot save`` writes: a bbolt file of the backend's buckets
(etcd's own format, so ``etcdctl snapshot status`` and ``restore`` read it; its 4 KiB
pages make it whole 512-byte pages), then the SHA-256 of everything before it.

That is the shape etcdctl checks (it refuses a file whose size is not a multiple of
512 plus 32) and the shape etcd itself sends; ``kvcore snapshot restore`` verifies the
digest before it loads anything, and reads etcd's snapshots as well as kvcore's (and
files of kvcore's older engine-neutral dump format). Both directions go chunk by
chunk: neither the sender nor the restorer holds the whole file in memory.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kvcore import schema
from kvcore.backend import ReadTxn
from kvcore.bolt import writer

PAGE = 512
DIGEST_BYTES = hashlib.sha256().digest_size
SEND_CHUNK = 32 * 1024  # as etcd's snapshotSendBufferSize
_READ_CHUNK = 1 << 20


class SnapshotFileError(ValueError):
    """Not a whole, intact snapshot file."""


def frames(txn: ReadTxn, spool_dir: Path) -> Iterator[tuple[bytes, int]]:
    """(blob, bytes remaining after it) for each Snapshot message: a bbolt file of the
    backend as ``txn`` sees it, then its digest. The file is written first to an unnamed
    spool file in ``spool_dir``, as its metas name pages written last."""
    digest = hashlib.sha256()
    with tempfile.TemporaryFile(dir=spool_dir) as spool:
        remaining = writer.write(txn, schema.ALL_BUCKETS, spool)
        spool.seek(0)
        while blob := spool.read(SEND_CHUNK):
            digest.update(blob)
            remaining -= len(blob)
            yield blob, remaining
    yield digest.digest(), 0


def verified_body(path: Path) -> int:
    """The length of a snapshot file's data, after checking its size and digest.

    Raises :class:`SnapshotFileError` when the file is not intact.
    """
    size = path.stat().st_size
    if size % PAGE != DIGEST_BYTES:
        raise SnapshotFileError(f"sha256 checksum not found [bytes: {size}]")
    body_bytes = size - DIGEST_BYTES
    digest = hashlib.sha256()
    for chunk in read(path, body_bytes):
        digest.update(chunk)
    with path.open("rb") as f:
        f.seek(body_bytes)
        if f.read() != digest.digest():
            raise SnapshotFileError("snapshot file's sha256 checksum does not match its data")
    return body_bytes


def read(path: Path, length: int) -> Iterator[bytes]:
    """The first ``length`` bytes of ``path``, in chunks."""
    with path.open("rb") as f:
        while length > 0:
            chunk = f.read(min(_READ_CHUNK, length))
            if not chunk:
                raise SnapshotFileError(f"{path} ended early")
            length -= len(chunk)
            yield chunk
