"""Membership changes with etcdctl: add a learner, promote it, update it, remove a voter."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from support.cluster import KvcoreCluster, poll
from support.etcdctl import CtlResult, Etcdctl
from support.ports import free_port
from support.rawclient import RpcFailure
from support.servers import Server

from kvcore.api.etcdserverpb import rpc_pb2

from .reads import put_keys, read_prefix

pytestmark = pytest.mark.kvcore

PREFIX = "members/"
NOT_IN_SYNC = "can only promote a learner member which is in sync with leader"
UNHEALTHY = "etcdserver: unhealthy cluster"
PROMOTE_SECONDS = 15.0
RECONFIGURE_SECONDS = 15.0
REMOVED_EXIT_SECONDS = 5.0
# Election timeouts without a leader, then a member list from a peer (removal.watch).
REMOVED_AFTER_RESTART_SECONDS = 15.0


def listed(ctl: Etcdctl) -> dict[str, dict]:
    """Member list by name (a member that has not published yet has name "")."""
    return {m.get("name", ""): m for m in ctl.json("member", "list")["members"]}


def parse_added(out: str) -> tuple[str, dict[str, str]]:
    """The hex id and ETCD_INITIAL_CLUSTER from `etcdctl member add`'s output."""
    # etcdctl prints both ids with %16x: an id under 16 hex digits is padded with spaces.
    added = re.search(r"^Member +([0-9a-f]+) added to cluster +[0-9a-f]+$", out, re.M)
    initial = re.search(r'^ETCD_INITIAL_CLUSTER="([^"]*)"$', out, re.M)
    assert added and initial, out
    pairs = (item.split("=", 1) for item in initial.group(1).split(","))
    return added.group(1), {name: url for name, url in pairs}


def assert_learner_serves_reads_only(learner: Server) -> None:
    """As etcd's interceptors: Status and serializable Ranges, nothing else."""
    refused = RpcFailure("UNAVAILABLE", "etcdserver: rpc not supported for learner")
    with learner.client() as client:
        assert not isinstance(client.call("Status", rpc_pb2.StatusRequest()), RpcFailure)
        serializable = rpc_pb2.RangeRequest(key=PREFIX.encode(), serializable=True)
        assert not isinstance(client.call("Range", serializable), RpcFailure)
        assert client.call("Range", rpc_pb2.RangeRequest(key=PREFIX.encode())) == refused
        put = rpc_pb2.PutRequest(key=b"learner", value=b"no")
        assert client.call("Put", put) == refused
        assert client.call("MemberList", rpc_pb2.MemberListRequest()) == refused
    ctl = learner.etcdctl()
    assert ctl.run("get", PREFIX, "--consistency=s", "--prefix", "--keys-only").code == 0
    assert "rpc not supported for learner" in ctl.run("put", "learner", "no").stderr


def reconfigure(ctl: Etcdctl, *args: str) -> CtlResult:
    """A membership change, retried while the members have not been connected long
    enough for one (kvcore.server.peer_health), as they have not right after a start."""

    def attempt() -> CtlResult | None:
        result = ctl.run(*args)
        return None if UNHEALTHY in result.stderr else result

    return poll("the cluster to be healthy for a reconfiguration", attempt, RECONFIGURE_SECONDS)


def promote(ctl: Etcdctl, hex_id: str) -> CtlResult:
    """Promote, retrying while the leader says the learner is not in sync yet."""

    def attempt() -> CtlResult | None:
        result = ctl.run("member", "promote", hex_id)
        return None if NOT_IN_SYNC in result.stderr else result

    return poll("the learner to be in sync", attempt, PROMOTE_SECONDS)


def test_learner_promote_update_remove(
    make_kvcore_cluster: Callable[..., KvcoreCluster],
) -> None:
    cluster = make_kvcore_cluster()
    voters = list(cluster.members.values())
    ctl = cluster.etcdctl(voters)
    put_keys(cluster.wait_leader(), PREFIX, 30)

    peer_port = free_port()
    peer = f"http://127.0.0.1:{peer_port}"
    added = reconfigure(ctl, "member", "add", "n4", f"--peer-urls={peer}", "--learner").check()
    hex_id, initial = parse_added(added.stdout)
    assert initial == {**cluster.initial, "n4": peer}
    unstarted = [m for m in ctl.json("member", "list")["members"] if m["peerURLs"] == [peer]]
    assert len(unstarted) == 1 and unstarted[0]["isLearner"], unstarted
    assert f"{unstarted[0]['ID']:x}" == hex_id
    # Only the leader knows whether the learner caught up: the others ask it.
    for voter in voters:
        refused = cluster.etcdctl([voter]).run("member", "promote", hex_id)
        assert NOT_IN_SYNC in refused.stderr, (voter.name, refused)

    learner = cluster.joiner("n4", peer_port, initial)
    learner.start()
    expected = read_prefix(cluster.wait_leader(), PREFIX)
    poll(
        "the learner to catch up",
        lambda: read_prefix(learner, PREFIX, serializable=True) == expected or None,
        15,
    )
    cluster.wait_published()
    assert listed(ctl)["n4"]["isLearner"]
    assert_learner_serves_reads_only(learner)
    assert listed(ctl)["n4"]["clientURLs"] == [f"http://{learner.endpoint}"]

    result = promote(ctl, hex_id)
    assert result.code == 0, result
    assert re.fullmatch(rf"Member +{hex_id} promoted in cluster +[0-9a-f]+\n", result.stdout)
    assert not listed(ctl)["n4"].get("isLearner", False)

    both = [peer, f"http://localhost:{peer_port}"]
    updated = ctl.run("member", "update", hex_id, f"--peer-urls={','.join(both)}").check()
    assert re.fullmatch(rf"Member +{hex_id} updated in cluster +[0-9a-f]+\n", updated.stdout)
    assert listed(ctl)["n4"]["peerURLs"] == both

    gone = next(m for m in voters if m is not cluster.wait_leader())
    gone_id = f"{cluster.member_id(gone):x}"
    removed_at = time.monotonic()
    result = reconfigure(ctl, "member", "remove", gone_id).check()
    assert re.fullmatch(rf"Member +{gone_id} removed from cluster +[0-9a-f]+\n", result.stdout)
    gone.process.wait_exit(REMOVED_EXIT_SECONDS)
    print(f"removed member exited after {time.monotonic() - removed_at:.2f}s")

    remaining = cluster.etcdctl()
    assert sorted(listed(remaining)) == sorted(n for n in cluster.members if n != gone.name)
    remaining.run("put", f"{PREFIX}after", "removal").check()
    for member in cluster.live():
        assert read_prefix(member, f"{PREFIX}after")[f"{PREFIX}after".encode()][0] == b"removal"


def test_a_member_removed_while_down_stops_when_restarted(
    make_kvcore_cluster: Callable[..., KvcoreCluster],
) -> None:
    """The removal commits while the member is down, so its log never gets the entry
    that removes it, and the others no longer talk to it: restarted, it must learn it
    from its peers and stop, not stay up as a candidate nobody answers."""
    cluster = make_kvcore_cluster()
    leader = cluster.wait_leader()
    gone = next(m for m in cluster.members.values() if m is not leader)
    gone_id = f"{cluster.member_id(gone):x}"
    gone.kill9()
    ctl = cluster.etcdctl([leader])
    reconfigure(ctl, "member", "remove", gone_id).check()
    ctl.run("put", f"{PREFIX}while-down", "x").check()
    gone.spawn()
    restarted_at = time.monotonic()
    gone.process.wait_exit(REMOVED_AFTER_RESTART_SECONDS)
    print(f"removed member exited {time.monotonic() - restarted_at:.2f}s after its restart")
    assert "a peer lists this member as removed" in gone.process.log()
