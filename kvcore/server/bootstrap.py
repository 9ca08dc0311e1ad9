"""A new member's first state: who is in the cluster, before raft has said anything.

A founding member ("new") derives every id from the config, as each founder does, and
starts from the cluster's first snapshot: the founders' member table, at an index one
per founder (``kvcore.raft.bootstrap``). A joining member ("existing") asks a running
member for the table and starts with an empty log; the leader then sends it a snapshot.
"""

from __future__ import annotations

from typing import Any

from kvcore import backend_stream, schema
from kvcore.backend import Backend
from kvcore.config import ConfigError, NodeConfig
from kvcore.raft.bootstrap import bootstrap_snapshot
from kvcore.raft.types import Snapshot
from kvcore.server import applied, ids
from kvcore.server.membership import Member, Membership
from kvcore.server.raftlog import Identity
from kvcore.transport import PeerTransport


def found(cfg: NodeConfig, backend: Backend) -> tuple[Identity, Snapshot]:
    """A founding member's identity and first snapshot; writes the table to ``backend``."""
    founders = cfg.founding_members()
    by_name = {name: ids.member_id(urls, cfg.cluster_token) for name, urls in founders.items()}
    cluster = ids.cluster_id(by_name.values())
    local = by_name[cfg.name]
    table = Membership(
        local, cluster, {by_name[n]: Member(by_name[n], n, list(u)) for n, u in founders.items()}
    )
    first = bootstrap_snapshot(sorted(by_name.values()))
    with backend.write() as txn:
        table.save_all(txn)
        applied.write(txn, first.metadata.index, first.metadata.term)
        txn.commit()
    first.data = backend_stream.dump_bytes(backend, schema.ALL_BUCKETS)
    return Identity(local, cluster), first


async def join(
    cfg: NodeConfig, backend: Backend, transport: PeerTransport, options: Any, source: str
) -> Identity:
    """A joining member's identity, from the table a running member gives."""
    urls = [
        u
        for name, member_urls in cfg.initial_cluster.items()
        if name != cfg.name
        for u in member_urls
    ]
    data = await transport.fetch_members(urls, cfg.request_timeout, options)
    cluster, members = Membership.decode(data)
    wanted = set(cfg.peer_urls)
    me = next((m for m in members if set(m.peer_urls) == wanted), None)
    if me is None:
        raise ConfigError(
            f"{source}: peer_urls: the cluster has no member with peer URLs {cfg.peer_urls}; "
            "add this member with MemberAdd (etcdctl member add) before starting it"
        )
    table = Membership(me.id, cluster, {m.id: m for m in members})
    with backend.write() as txn:
        table.save_all(txn)
        txn.commit()
    return Identity(me.id, cluster)
