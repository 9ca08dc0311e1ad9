"""One kvcore node under watch load: progress notifications, many watchers on one
stream, and a client that stops reading."""

from __future__ import annotations

import time

import grpc
import pytest
from support.normalize import render
from support.process import Supervisor
from support.rawclient import RawClient
from support.requests import prefix_end
from support.servers import EtcdServer, NodeFactory, Server

from kvcore.api.etcdserverpb import rpc_pb2

from .client import WatchClient

pytestmark = pytest.mark.kvcore

PROGRESS_MS = 300


class ProgressEtcd(EtcdServer):
    """etcd with watch progress notifications every PROGRESS_MS."""

    def _make_process(self):  # type: ignore[no-untyped-def]
        process = super()._make_process()
        process.argv.append(f"--experimental-watch-progress-notify-interval={PROGRESS_MS}ms")
        return process


def first_progress(server: Server) -> list[str]:
    """A progress_notify watcher and a plain one; what comes in the first intervals."""
    with WatchClient(server.endpoint) as watch, server.client() as kv:
        kv.ok("Put", rpc_pb2.PutRequest(key=b"pn/a", value=b"1"))
        watch.create(b"pn/a", progress_notify=True)
        watch.create(b"pn/b")
        seen = watch.take(2)
        seen += watch.quiet(3 * PROGRESS_MS / 1000)
    # Which intervals fall in the window is up to the clock: keep the first of each kind.
    shown = [render(r) for r in seen]
    return list(dict.fromkeys(shown))


@pytest.mark.etcd
def test_progress_notify_as_etcd(
    nodes: NodeFactory, supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ours = nodes.start("kvcore", watch={"progress_notify_interval_ms": PROGRESS_MS})
    workdir = tmp_path_factory.mktemp("progress-etcd")
    theirs = ProgressEtcd(supervisor, workdir)
    nodes.adopt(theirs)
    theirs.start()
    got = first_progress(ours)
    assert got == first_progress(theirs)
    assert len(got) == 3, got  # two created, then the progress note for watcher 0 alone


@pytest.mark.parametrize(
    "watchers", [1000, pytest.param(10_000, marks=pytest.mark.slow, id="10000")]
)
def test_many_watchers_on_one_stream_each_get_their_event(
    nodes: NodeFactory, watchers: int
) -> None:
    node = nodes.start("kvcore")
    with WatchClient(node.endpoint) as watch, node.client() as kv:
        for i in range(watchers):
            watch.create(f"many/{i:05d}".encode())
        watch.create(b"many/", range_end=prefix_end(b"many/"))
        created = watch.take(watchers + 1, timeout=30)
        assert [r.watch_id for r in created] == list(range(watchers + 1))
        for start in range(0, watchers, 100):
            ops = [
                rpc_pb2.RequestOp(
                    request_put=rpc_pb2.PutRequest(key=f"many/{i:05d}".encode(), value=b"x")
                )
                for i in range(start, start + 100)
            ]
            kv.ok("Txn", rpc_pb2.TxnRequest(success=ops))
        # One event per key watcher and all of them for the prefix watcher, in however
        # many responses: a watcher that found the stream's buffer full catches up later.
        heard: dict[int, list[bytes]] = {}
        for _ in range(2 * watchers):
            if sum(map(len, heard.values())) == 2 * watchers:
                break
            response = watch.next(timeout=30)
            heard.setdefault(response.watch_id, []).extend(ev.kv.key for ev in response.events)
        assert watch.quiet(0.3) == []
    for i in range(watchers):
        assert heard[i] == [f"many/{i:05d}".encode()]
    assert heard[watchers] == [f"many/{i:05d}".encode() for i in range(watchers)]


def test_stuck_client_stalls_neither_writes_nor_other_watchers(nodes: NodeFactory) -> None:
    node = nodes.start("kvcore")
    puts, value = 300, b"s" * 64 * 1024  # far more than a stream's flow-control window
    with (
        WatchClient(node.endpoint, paused=True) as stuck,
        WatchClient(node.endpoint) as live,
        RawClient(node.endpoint) as kv,
    ):
        stuck.create(b"stuck/", range_end=prefix_end(b"stuck/"))
        live.create(b"stuck/", range_end=prefix_end(b"stuck/"))
        live.next()
        time.sleep(0.2)  # the stuck stream's watcher exists before the writes
        revisions, slowest = [], 0.0
        for i in range(puts):
            began = time.monotonic()
            put = kv.ok("Put", rpc_pb2.PutRequest(key=f"stuck/{i % 7}".encode(), value=value))
            slowest = max(slowest, time.monotonic() - began)
            revisions.append(put.header.revision)
        assert slowest < 2.0, f"a put took {slowest:.2f} s"
        assert events_of(live, puts) == revisions
        stuck.resume()
        assert stuck.next().created
        assert events_of(stuck, puts) == revisions  # once each, in order, no gap
        assert stuck.quiet(0.3) == []


def events_of(watch: WatchClient, count: int) -> list[int]:
    """The revisions of the next ``count`` events on ``watch``."""
    revisions: list[int] = []
    while len(revisions) < count:
        revisions += [ev.kv.mod_revision for ev in watch.next().events]
    return revisions


def test_stopping_node_ends_open_streams_as_stopped(nodes: NodeFactory) -> None:
    """A stream never ends by itself: a stopping node ends it with etcd's "server
    stopped" (Unavailable, so clients go to another member) instead of leaving it to be
    cut when the listener's grace runs out."""
    node = nodes.start("kvcore")
    with WatchClient(node.endpoint) as watch:
        watch.create(b"stop/a")
        assert watch.next().created
        node.stop()
        failure = watch.failure()
    assert (failure.code(), failure.details()) == (
        grpc.StatusCode.UNAVAILABLE,
        "etcdserver: server stopped",
    )
