"""``kvcore snapshot restore``: a new member's data dir from a snapshot file.

The keys, values, revisions, compaction point, leases and auth state come from the
file; the membership comes from the config, as for any founding member (etcd's
``snapshot restore`` starts a new cluster the same way). The engine is the config's,
whatever engine the snapshot was taken on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kvcore import backend_stream, schema
from kvcore.bolt import reader as bolt
from kvcore.config import ConfigError, NodeConfig
from kvcore.server import bootstrap, snapshot_file
from kvcore.server.node import Node
from kvcore.server.raftlog import DurableLog

_MEMBERSHIP_BUCKETS = (schema.MEMBERS, schema.MEMBERS_REMOVED, schema.CLUSTER)


def restore(snapshot: Path, cfg: NodeConfig, source: str) -> None:
    node = Node(cfg, source)  # checks the engine and every listener first
    if cfg.cluster_state != "new":
        raise ConfigError(f"{source}: cluster_state: a restored member founds a new cluster")
    member_dir = cfg.data_dir / "member"
    if DurableLog.exists(member_dir / "raft"):
        raise ConfigError(
            f"{source}: data_dir: {cfg.data_dir} already holds a member; restore into a new one"
        )
    length = snapshot_file.verified_body(snapshot)
    member_dir.mkdir(parents=True, exist_ok=True)
    backend = node.engine.open(member_dir / "backend", schema.ALL_BUCKETS, node.engine_options)
    try:
        backend_stream.replace(backend, schema.ALL_BUCKETS, _records(snapshot, length))
        with backend.write() as txn:
            for bucket in _MEMBERSHIP_BUCKETS:
                for key, _ in list(txn.range(bucket, b"")):
                    txn.delete(bucket, key)
            txn.commit()
        identity, first = bootstrap.found(cfg, backend)
        backend.sync()
        DurableLog.create(member_dir / "raft", identity, first, cfg.wal.segment_bytes)
    finally:
        backend.close()


def _records(snapshot: Path, length: int) -> Iterator[tuple[str, bytes, bytes]]:
    """The pairs of a bbolt snapshot (etcd's or kvcore's), or of kvcore's older dump."""
    with snapshot.open("rb") as f:
        head = f.read(4096)
    if bolt.is_bolt(head):
        try:
            yield from bolt.records(snapshot, length)
        except bolt.BoltError as exc:
            raise snapshot_file.SnapshotFileError(f"{snapshot}: {exc}") from None
    else:
        yield from backend_stream.records(snapshot_file.read(snapshot, length))
