"""etcdctl lock and elect, several contenders as processes, against kvcore and against
etcd (the same checks pass on both). etcdctl runs concurrency's Mutex and Election
itself, over KV, leases and watch."""

from __future__ import annotations

import contextlib

import pytest
from support.servers import Server

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .client import Recipes, prefix_end, until
from .ctl import Running

pytestmark = [pytest.mark.etcd, pytest.mark.kvcore]


@pytest.fixture(params=["kvcore", "etcd"])
def server(request: pytest.FixtureRequest, pair: tuple[Server, Server]) -> Server:
    return dict(zip(["kvcore", "etcd"], pair, strict=True))[request.param]


def queued(r: Recipes, prefix: bytes, count: int) -> None:
    """Wait until ``count`` contenders have their keys under ``prefix``."""
    request = pb.RangeRequest(key=prefix, range_end=prefix_end(prefix), count_only=True)
    until(f"{count} contenders", lambda: r.kv.ok("Range", request).count == count)


def lease_of(key: str) -> int:
    return int(key.rsplit("/", 1)[1], 16)


def test_lock_passes_from_contender_to_contender(server: Server) -> None:
    """The lock goes, in queue order, to the next contender when the holder exits and
    when the holder's lease is revoked."""
    name = "ctl-lock"
    with Recipes(server) as r, contextlib.ExitStack() as stack:
        first = stack.enter_context(Running(server.endpoint, "lock", name))
        held = first.line()
        assert held.startswith(f"{name}/")
        second = stack.enter_context(Running(server.endpoint, "lock", name))
        queued(r, f"{name}/".encode(), 2)
        third = stack.enter_context(Running(server.endpoint, "lock", name))
        queued(r, f"{name}/".encode(), 3)
        assert second.silent() and third.silent()
        assert first.interrupt() == 0  # unlocks on its way out
        taken = second.line()
        assert taken.startswith(f"{name}/") and taken != held
        assert third.silent()
        r.revoke(lease_of(taken))
        last = third.line()
        assert last.startswith(f"{name}/") and last not in (held, taken)
        assert second.wait() != 0  # its session ended with the lease
        assert "session expired" in second.stderr()
        assert third.interrupt() == 0
        queued(r, f"{name}/".encode(), 0)


def test_lock_runs_a_command_once_free(server: Server) -> None:
    """``etcdctl lock NAME -- cmd`` runs cmd holding the lock, then unlocks."""
    name = "ctl-exec"
    show = 'echo "$ETCD_LOCK_KEY"'
    with Recipes(server) as r, Running(server.endpoint, "lock", name) as holder:
        held = holder.line()
        with Running(server.endpoint, "lock", name, "--", "sh", "-c", show) as runner:
            queued(r, f"{name}/".encode(), 2)
            assert runner.silent(), "the command ran while the lock was held"
            assert holder.interrupt() == 0
            ran = runner.line()
            assert ran.startswith(f"{name}/") and ran != held
            assert runner.wait() == 0
        queued(r, f"{name}/".encode(), 0)


def test_elect_and_listen(server: Server) -> None:
    """Candidates take turns leading; ``elect -l`` prints each leader and proposal."""
    name = "ctl-elect"
    with Recipes(server) as r, contextlib.ExitStack() as stack:
        listener = stack.enter_context(Running(server.endpoint, "elect", "-l", name))
        assert listener.silent()
        first = stack.enter_context(Running(server.endpoint, "elect", name, "first"))
        leader = first.line()
        assert leader.startswith(f"{name}/") and first.line() == "first"
        assert (listener.line(), listener.line()) == (leader, "first")
        second = stack.enter_context(Running(server.endpoint, "elect", name, "second"))
        queued(r, f"{name}/".encode(), 2)
        assert second.silent()
        assert first.interrupt() == 0  # resigns on its way out
        successor = second.line()
        assert successor.startswith(f"{name}/") and successor != leader
        assert second.line() == "second"
        assert (listener.line(), listener.line()) == (successor, "second")
        assert second.interrupt() == 0
        assert listener.interrupt() == 0
        queued(r, f"{name}/".encode(), 0)
