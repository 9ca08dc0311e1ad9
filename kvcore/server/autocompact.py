"""The periodic compactor (etcd's v3compactor): compacts the history on a schedule,
through raft like a client's Compact, and only while this member leads.

* periodic (``retention`` a duration P): every P/10 (at most 6 minutes) the current
  revision is noted; once P has passed since the last compaction (then every
  min(P, 1 hour)), the history is compacted at the revision noted P ago. A failure is
  retried P/10 later.
* revision (``retention`` a count N): every ``revision_interval`` (5 minutes in etcd),
  compacts at current revision - N, unless that is not positive or was done last time.

A compaction already done ("required revision has been compacted") counts as done.
"""

from __future__ import annotations

import asyncio
import logging

from kvcore import errors
from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.etcdserverpb.raft_internal_pb2 import InternalRaftRequest
from kvcore.server.etcdserver import EtcdServer

log = logging.getLogger(__name__)

_HOUR = 3600.0
_RETRY_DIVISOR = 10


async def run(server: EtcdServer) -> None:
    """Compact on the configured schedule until cancelled; return at once when off."""
    cfg = server.cfg.auto_compaction
    retention = cfg.retention_value()
    if retention == 0:
        return
    if cfg.mode == "periodic":
        await _periodic(server, retention)
    else:
        await _revision(server, int(retention), cfg.revision_interval)


async def _periodic(server: EtcdServer, period: float) -> None:
    loop = asyncio.get_running_loop()
    compact_interval = min(period, _HOUR)
    retry_interval = compact_interval / _RETRY_DIVISOR
    retentions = int(period / retry_interval) + 1
    revs: list[int] = []
    last_success = loop.time()
    base_interval = period
    while True:
        revs.append(server.store.current_revision)
        if len(revs) > retentions:
            revs.pop(0)  # revs[0] is always the revision of one period ago
        await asyncio.sleep(retry_interval)
        if not server.is_leader or loop.time() - last_success < base_interval:
            continue
        base_interval = compact_interval
        if await _compact(server, revs[0], f"periodic, keeping {period:g}s"):
            last_success = loop.time()


async def _revision(server: EtcdServer, retention: int, interval: float) -> None:
    prev = 0
    while True:
        await asyncio.sleep(interval)
        if not server.is_leader:
            continue
        rev = server.store.current_revision - retention
        if rev <= 0 or rev == prev:
            continue
        if await _compact(server, rev, f"revision, keeping {retention} revisions"):
            prev = rev


async def _compact(server: EtcdServer, rev: int, schedule: str) -> bool:
    """Compact at ``rev`` through raft; whether it is done (now or before)."""
    request = InternalRaftRequest(compaction=pb.CompactionRequest(revision=rev))
    try:
        await server.propose(request)
    except errors.EtcdError as exc:
        if exc == errors.COMPACTED:
            return True
        log.warning("auto compaction (%s) at revision %d failed: %s", schedule, rev, exc.message)
        return False
    log.info("auto compaction (%s) compacted at revision %d", schedule, rev)
    return True
