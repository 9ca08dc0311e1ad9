"""Watch scenarios as data: steps a test runs against a server, recording every watch
response it gets, so that two servers' recordings can be compared.

Revisions in steps are relative to the revision the server is at when the scenario
starts (``rel=1``: the scenario's first write), so scenarios can share a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from support.normalize import render
from support.rawclient import RawClient
from support.requests import prefix_end

from kvcore.api.etcdserverpb import rpc_pb2

from .client import WatchClient

# How long a scenario waits, at its end, for responses nobody expected.
QUIET_SECONDS = 0.3


class Step(Protocol):
    def run(self, run: Run) -> None: ...


@dataclass
class Run:
    kv: RawClient
    watch: WatchClient
    base: int
    seen: list[str] = field(default_factory=list)

    def record(self, responses: list[rpc_pb2.WatchResponse]) -> None:
        self.seen += [render(r) for r in responses]


@dataclass(frozen=True)
class Watch:
    """Create a watcher and wait for the answer to creating it."""

    key: bytes
    prefix: bool = False
    rel: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def run(self, run: Run) -> None:
        fields = dict(self.fields)
        if self.prefix:
            fields["range_end"] = prefix_end(self.key)
        if self.rel is not None:
            fields["start_revision"] = run.base + self.rel
        run.watch.create(self.key, **fields)
        run.record([run.watch.next()])


@dataclass(frozen=True)
class Cancel:
    watch_id: int

    def run(self, run: Run) -> None:
        run.watch.cancel(self.watch_id)


@dataclass(frozen=True)
class Progress:
    def run(self, run: Run) -> None:
        run.watch.request_progress()


@dataclass(frozen=True)
class Expect:
    """Wait for ``count`` more watch responses."""

    count: int

    def run(self, run: Run) -> None:
        run.record(run.watch.take(self.count))


@dataclass(frozen=True)
class Put:
    key: bytes
    value: bytes = b"v"

    def run(self, run: Run) -> None:
        run.kv.ok("Put", rpc_pb2.PutRequest(key=self.key, value=self.value))


@dataclass(frozen=True)
class Delete:
    key: bytes
    prefix: bool = False

    def run(self, run: Run) -> None:
        end = prefix_end(self.key) if self.prefix else b""
        run.kv.ok("DeleteRange", rpc_pb2.DeleteRangeRequest(key=self.key, range_end=end))


@dataclass(frozen=True)
class Txn:
    """One revision: put each key in ``puts``, then delete each in ``deletes``."""

    puts: tuple[bytes, ...]
    deletes: tuple[bytes, ...] = ()

    def run(self, run: Run) -> None:
        ops = [
            rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=k, value=b"t")) for k in self.puts
        ]
        ops += [
            rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(key=k))
            for k in self.deletes
        ]
        run.kv.ok("Txn", rpc_pb2.TxnRequest(success=ops))


@dataclass(frozen=True)
class Compact:
    rel: int

    def run(self, run: Run) -> None:
        request = rpc_pb2.CompactionRequest(revision=run.base + self.rel, physical=True)
        run.kv.ok("Compact", request)


def record(endpoint: str, steps: list[Step]) -> list[str]:
    """Run ``steps`` on a new watch stream; every response seen, rendered without ids,
    ending with whatever arrived unexpected."""
    with RawClient(endpoint) as kv, WatchClient(endpoint) as watch:
        base = kv.revision()
        run = Run(kv, watch, base)
        for step in steps:
            step.run(run)
        unexpected = watch.quiet(QUIET_SECONDS)
        run.record(unexpected)
        if unexpected:
            run.seen.append(f"^ {len(unexpected)} unexpected")
        return run.seen
