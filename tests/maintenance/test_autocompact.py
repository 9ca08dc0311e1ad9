"""The periodic compactor in both of etcd's modes, with short retentions, and its config."""

from __future__ import annotations

import threading
import time

import pytest
from support.servers import NodeFactory

from kvcore import config
from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .nodes import CALL_TIMEOUT_SECONDS, Stubs

PERIOD_SECONDS = 1.0


def _compact_revision(stubs: Stubs) -> int:
    return stubs.maintenance.HashKV(
        pb.HashKVRequest(), timeout=CALL_TIMEOUT_SECONDS
    ).compact_revision


def _write_for(stubs: Stubs, seconds: float) -> list[tuple[float, int]]:
    """Put for ``seconds``; (acknowledged at, revision) of every put."""
    acked = []
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        response = stubs.kv.Put(pb.PutRequest(key=b"k%d" % (n % 10), value=b"%d" % n))
        acked.append((time.monotonic(), response.header.revision))
        n += 1
        time.sleep(0.005)
    return acked


def _revision_by(acked: list[tuple[float, int]], moment: float) -> int:
    return max((rev for at, rev in acked if at <= moment), default=1)


def test_periodic_keeps_one_period_of_history(nodes: NodeFactory) -> None:
    node = nodes.start("kvcore", auto_compaction={"mode": "periodic", "retention": "1s"})
    with Stubs(node) as stubs:
        acked = _write_for(stubs, 4 * PERIOD_SECONDS)
        now = time.monotonic()
        compacted = _compact_revision(stubs)
    # etcd's schedule: every period, compact at the revision noted one period before;
    # the margins allow for a loaded machine.
    assert compacted <= _revision_by(acked, now - PERIOD_SECONDS + 0.5)
    assert compacted >= _revision_by(acked, now - 3 * PERIOD_SECONDS)
    assert compacted > 1


def test_revision_keeps_the_last_revisions(nodes: NodeFactory) -> None:
    node = nodes.start(
        "kvcore", auto_compaction={"mode": "revision", "retention": 10, "revision_interval": 0.2}
    )
    with Stubs(node) as stubs:
        acked = _write_for(stubs, 0.5)
        head = acked[-1][1]
        deadline = time.monotonic() + 10
        while _compact_revision(stubs) != head - 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _compact_revision(stubs) == head - 10
        kept = stubs.kv.Range(pb.RangeRequest(key=b"k0", revision=head - 10))
        assert kept.header.revision == head


def test_off_by_default(nodes: NodeFactory) -> None:
    node = nodes.start("kvcore", auto_compaction={"mode": "revision", "revision_interval": 0.1})
    with Stubs(node) as stubs:
        _write_for(stubs, 0.5)
        time.sleep(0.3)
        assert _compact_revision(stubs) == -1  # never compacted, as etcd reports it


BASE = {
    "data_dir": "data",
    "engine": {"name": "memory"},
    "client_listeners": [{"transport": "grpc", "address": "127.0.0.1:2379"}],
}


@pytest.mark.parametrize(
    ("auto_compaction", "message"),
    [
        ({"mode": "hourly"}, "auto_compaction.mode: Input should be 'periodic' or 'revision'"),
        ({"retention": "10x"}, "auto_compaction.retention: invalid duration '10x'"),
        ({"retention": -1}, "auto_compaction.retention: must not be negative"),
        (
            {"mode": "revision", "retention": "5m"},
            "auto_compaction: retention: revision mode takes a number",
        ),
        ({"revision_interval": 0}, "auto_compaction.revision_interval: Input should be greater"),
    ],
)
def test_bad_values_name_the_field(auto_compaction: dict, message: str) -> None:
    with pytest.raises(config.ConfigError) as raised:
        config.parse({**BASE, "auto_compaction": auto_compaction}, source="node.yaml")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("auto_compaction", "retention"),
    [
        ({"retention": 1}, 3600.0),  # a bare number of hours, as etcd reads it
        ({"retention": "1h30m"}, 5400.0),
        ({"retention": "500ms"}, 0.5),
        ({"mode": "revision", "retention": "1000"}, 1000),
        ({}, 0),
    ],
)
def test_retention_values(auto_compaction: dict, retention: float) -> None:
    cfg = config.parse({**BASE, "auto_compaction": auto_compaction})
    assert cfg.auto_compaction.retention_value() == retention


@pytest.mark.slow
def test_compactor_runs_beside_writes(nodes: NodeFactory) -> None:
    """Compactions through raft interleave with client writes; none of them fails."""
    node = nodes.start(
        "kvcore", auto_compaction={"mode": "revision", "retention": 5, "revision_interval": 0.05}
    )
    errors: list[Exception] = []
    with Stubs(node) as stubs:

        def write() -> None:
            try:
                _write_for(stubs, 1.0)
            except Exception as exc:
                errors.append(exc)

        writers = [threading.Thread(target=write) for _ in range(2)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        assert not errors
        assert _compact_revision(stubs) > 1
