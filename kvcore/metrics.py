"""Prometheus metrics, under etcd's names where etcd has the metric.

Three kinds, each as cheap as its source allows:

* State read when scraped (leader, raft indexes, key count, database size): nothing on
  any request path. :func:`track` binds them to a running server.
* Per-RPC counts (``grpc_server_started_total``, ``grpc_server_handled_total``, labelled
  as go-grpc-prometheus labels them): plain integers on an :class:`RpcCounts` that a
  transport looks up once per method when it binds its handlers; only the event loop
  thread adds to them, so no lock is taken per request. Every client transport counts
  into the same ones, as every etcd gateway call is also a gRPC call.
* Disk latencies (WAL fsync, backend commit): :class:`DiskLatency` histograms, observed
  once per batch (once per write at one write in flight), so an observation is a
  bisect and two additions rather than prometheus-client's locked counters.

kvcore serves one node per process, as etcd does, so the metrics live in this module's
:data:`REGISTRY`; ``kvcore_engine_*`` carry the engine's name as a label.
"""

from __future__ import annotations

import bisect
import collections
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from kvcore.errors import Code

if TYPE_CHECKING:
    from kvcore.server.etcdserver import EtcdServer

disable_created_metrics()  # etcd exposes no *_created samples
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# etcd's buckets for disk latencies: 1 ms doubling up to ~8 s.
_DISK_BUCKETS = tuple(0.001 * 2**i for i in range(14))

LEADER_CHANGES = Counter(
    "etcd_server_leader_changes_seen",
    "The number of leader changes seen.",
    registry=REGISTRY,
)
PROPOSALS_FAILED = Counter(
    "etcd_server_proposals_failed",
    "The total number of failed proposals seen.",
    registry=REGISTRY,
)


class DiskLatency:
    """A latency histogram with etcd's disk buckets, observed without a lock.

    Each one is observed by one thread at a time (the WAL by whichever thread the
    driver has write it, one batch after another; backend commits on the event loop);
    a scrape reading it meanwhile may see a sample counted in ``_sum`` but not yet in a
    bucket, which Prometheus tolerates as it does any scrape between two samples.
    """

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self._counts = [0] * (len(_DISK_BUCKETS) + 1)  # the last one is +Inf
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect.bisect_left(_DISK_BUCKETS, seconds)] += 1
        self._sum += seconds

    def family(self, name: str | None = None, documentation: str | None = None,
               label: tuple[str, str] | None = None) -> HistogramMetricFamily:
        """The histogram as a metric family (under another name and with one label, if
        given: the same samples exposed twice)."""
        family = HistogramMetricFamily(
            name or self.name,
            documentation or self.documentation,
            labels=[label[0]] if label else None,
        )
        buckets, total = [], 0
        for bound, count in zip((*_DISK_BUCKETS, float("inf")), self._counts, strict=True):
            total += count
            buckets.append((floatToGoString(bound), total))
        family.add_metric([label[1]] if label else [], buckets, self._sum)
        return family


WAL_FSYNC = DiskLatency(
    "etcd_disk_wal_fsync_duration_seconds",
    "The latency distributions of fsync called by WAL.",
)
BACKEND_COMMIT = DiskLatency(
    "etcd_disk_backend_commit_duration_seconds",
    "The latency distributions of commit called by backend.",
)


class _DiskCollector:
    def collect(self) -> Iterator[Metric]:
        yield WAL_FSYNC.family()
        yield BACKEND_COMMIT.family()


REGISTRY.register(_DiskCollector())


def _engine_commit(engine: str) -> Metric:
    """``kvcore_engine_commit_duration_seconds{engine=...}``: the backend commit
    histogram under kvcore's name, so that engines compare by label across nodes."""
    return BACKEND_COMMIT.family(
        "kvcore_engine_commit_duration_seconds",
        "The latency distributions of write transaction commits, by storage engine.",
        ("engine", engine),
    )


# --- per-RPC counts -----------------------------------------------------------------

# go-grpc-prometheus labels codes with grpc-go's Code.String().
_CODE_LABELS = {
    Code.OK: "OK",
    Code.CANCELLED: "Canceled",
    Code.UNKNOWN: "Unknown",
    Code.INVALID_ARGUMENT: "InvalidArgument",
    Code.DEADLINE_EXCEEDED: "DeadlineExceeded",
    Code.NOT_FOUND: "NotFound",
    Code.ALREADY_EXISTS: "AlreadyExists",
    Code.PERMISSION_DENIED: "PermissionDenied",
    Code.RESOURCE_EXHAUSTED: "ResourceExhausted",
    Code.FAILED_PRECONDITION: "FailedPrecondition",
    Code.ABORTED: "Aborted",
    Code.OUT_OF_RANGE: "OutOfRange",
    Code.UNIMPLEMENTED: "Unimplemented",
    Code.INTERNAL: "Internal",
    Code.UNAVAILABLE: "Unavailable",
    Code.DATA_LOSS: "DataLoss",
    Code.UNAUTHENTICATED: "Unauthenticated",
}


def rpc_type(client_streaming: bool, server_streaming: bool) -> str:
    """go-grpc-prometheus's grpc_type label."""
    if client_streaming and server_streaming:
        return "bidi_stream"
    if client_streaming:
        return "client_stream"
    return "server_stream" if server_streaming else "unary"


class RpcCounts:
    """How many calls of one RPC started, and how many ended with each code."""

    __slots__ = ("handled", "labels", "started")

    def __init__(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels  # (grpc_type, grpc_service, grpc_method)
        self.started = 0
        self.handled: collections.Counter[Code] = collections.Counter()

    def start(self) -> None:
        self.started += 1

    def finish(self, code: Code) -> None:
        self.handled[code] += 1


_rpcs: dict[tuple[str, str, str], RpcCounts] = {}


def rpc_counts(service: str, method: str, kind: str) -> RpcCounts:
    """The counts of one RPC (``kind`` from :func:`rpc_type`); look it up once, at bind."""
    labels = (kind, service, method)
    counts = _rpcs.get(labels)
    if counts is None:
        counts = _rpcs[labels] = RpcCounts(labels)
    return counts


class _RpcCollector:
    def collect(self) -> Iterator[Metric]:
        names = ["grpc_type", "grpc_service", "grpc_method"]
        started = CounterMetricFamily(
            "grpc_server_started", "Total number of RPCs started on the server.", labels=names
        )
        handled = CounterMetricFamily(
            "grpc_server_handled",
            "Total number of RPCs completed on the server, regardless of success or failure.",
            labels=[*names, "grpc_code"],
        )
        for counts in list(_rpcs.values()):
            started.add_metric(list(counts.labels), counts.started)
            for code, n in list(counts.handled.items()):
                handled.add_metric([*counts.labels, _CODE_LABELS[code]], n)
        yield started
        yield handled


REGISTRY.register(_RpcCollector())


# --- server state, read when scraped ---------------------------------------------------


class _ServerCollector:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    def collect(self) -> Iterator[Metric]:
        server = self._server
        store = server.store
        engine = server.cfg.engine.name
        yield _engine_commit(engine)
        yield _gauge(
            "etcd_server_has_leader",
            "Whether or not a leader exists. 1 is existence, 0 is not.",
            1 if server.leader_id else 0,
        )
        yield _gauge(
            "etcd_server_is_leader",
            "Whether or not this member is a leader. 1 if is, 0 otherwise.",
            1 if server.is_leader else 0,
        )
        yield _gauge(
            "etcd_server_proposals_committed_total",
            "The total number of consensus proposals committed.",
            server.committed_index,
        )
        yield _gauge(
            "etcd_server_proposals_applied_total",
            "The total number of consensus proposals applied.",
            server.applied_index,
        )
        yield _gauge(
            "etcd_server_proposals_pending",
            "The current number of pending proposals to commit.",
            server.pending_proposals,
        )
        size, in_use = server.backend.size(), server.backend.size_in_use()
        yield _gauge(
            "etcd_mvcc_db_total_size_in_bytes",
            "Total size of the underlying database physically allocated in bytes.",
            size,
        )
        yield _gauge(
            "etcd_mvcc_db_total_size_in_use_in_bytes",
            "Total size of the underlying database logically in use in bytes.",
            in_use,
        )
        yield _gauge(
            "etcd_debugging_mvcc_keys_total",
            "Total number of keys.",
            # A walk of the index per scrape: scrapes are rare, writes are not.
            store.index.count(b"", b"", store.current_revision),
        )
        yield _gauge(
            "etcd_debugging_mvcc_current_revision",
            "The current revision of store.",
            store.current_revision,
        )
        yield _gauge(
            "etcd_debugging_mvcc_compact_revision",
            "The revision of the last compaction in store.",
            max(store.compact_revision, 0),  # -1 before the first compaction
        )
        yield _gauge(
            "kvcore_engine_size_bytes",
            "Bytes the storage engine holds on disk or in memory, by engine.",
            size,
            engine,
        )
        yield _gauge(
            "kvcore_engine_size_in_use_bytes",
            "Bytes of the storage engine's data in use, by engine.",
            in_use,
            engine,
        )


def _gauge(name: str, doc: str, value: float, engine: str | None = None) -> GaugeMetricFamily:
    if engine is None:
        return GaugeMetricFamily(name, doc, value=value)
    family = GaugeMetricFamily(name, doc, labels=["engine"])
    family.add_metric([engine], value)
    return family


def track(server: EtcdServer) -> Callable[[], None]:
    """Report ``server``'s state on every scrape; returns the call that stops it."""
    collector = _ServerCollector(server)
    REGISTRY.register(collector)
    return lambda: REGISTRY.unregister(collector)


def exposition() -> bytes:
    """Every metric in Prometheus' text format."""
    return generate_latest(REGISTRY)
