"""etcdctl against a three-member kvcore cluster, with a three-member etcd as the oracle.

Both clusters are led by n1 when a test starts; outputs are compared after
:class:`Tokens` has put member names in place of ids and addresses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.cluster import Cluster, EtcdCluster, KvcoreCluster, Member
from support.etcdctl import CtlResult, Etcdctl
from support.process import Supervisor
from support.rawclient import RawClient

from kvcore.api.etcdserverpb import rpc_pb2

from .oracle import Tokens

pytestmark = [pytest.mark.kvcore, pytest.mark.etcd]

UNKNOWN_MEMBER_ID = 1


class Side:
    """One cluster, and the tokens that make its output comparable."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.tokens = Tokens(cluster)

    def ctl(self, *names: str) -> Etcdctl:
        """etcdctl against the named members, or all of them in name order."""
        members = [self.cluster[n] for n in names or sorted(self.cluster.members)]
        return self.cluster.etcdctl(members)

    def hex_id(self, name: str) -> str:
        return f"{self.cluster.member_id(self.cluster[name]):x}"

    def result(self, result: CtlResult) -> tuple[int, str, str]:
        return result.code, self.tokens.text(result.stdout), self.tokens.text(result.stderr)

    def move_leader(self, target: str) -> CtlResult:
        """`etcdctl move-leader` sent to the leader's endpoint."""
        return self.ctl(self.cluster.wait_leader().name).run("move-leader", self.hex_id(target))


@pytest.fixture(scope="module")
def sides(
    supervisor: Supervisor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Side, Side]]:
    root = tmp_path_factory.mktemp("etcdctl-clusters")
    kvcore, etcd = (
        KvcoreCluster(supervisor, root / "kvcore"),
        EtcdCluster(supervisor, root / "etcd"),
    )
    try:
        for cluster in (kvcore, etcd):
            cluster.spawn_all()
        for cluster in (kvcore, etcd):
            cluster.start()
        yield Side(kvcore), Side(etcd)
    finally:
        kvcore.stop_all()
        etcd.stop_all()


@pytest.fixture
def led_by_n1(sides: tuple[Side, Side]) -> tuple[Side, Side]:
    for side in sides:
        if side.cluster.wait_leader().name != "n1":
            side.move_leader("n1").check()
        assert side.cluster.wait_leader().name == "n1"
    return sides


def same(sides: tuple[Side, Side], view: Callable[[Side], Any]) -> Any:
    kvcore, etcd = (view(side) for side in sides)
    assert kvcore == etcd
    return kvcore


def test_member_list_json(led_by_n1: tuple[Side, Side]) -> None:
    def members(side: Side) -> Any:
        data = side.tokens.data(side.ctl("n1").json("member", "list"))
        data["members"].sort(key=lambda m: m["name"])
        return data

    listed = same(led_by_n1, members)
    assert [m["name"] for m in listed["members"]] == ["n1", "n2", "n3"]


def test_member_list_table(led_by_n1: tuple[Side, Side]) -> None:
    same(
        led_by_n1,
        lambda s: s.tokens.table(s.ctl().run("member", "list", "-w", "table").check().stdout),
    )


def test_endpoint_status_json(led_by_n1: tuple[Side, Side]) -> None:
    statuses = same(led_by_n1, lambda s: s.tokens.data(s.ctl().json("endpoint", "status")))
    assert {s["Status"]["leader"] for s in statuses} == {"<id:n1>"}


def test_endpoint_status_table(led_by_n1: tuple[Side, Side]) -> None:
    same(
        led_by_n1,
        lambda s: s.tokens.table(s.ctl().run("endpoint", "status", "-w", "table").check().stdout),
    )


def test_endpoint_health(led_by_n1: tuple[Side, Side]) -> None:
    def health(side: Side) -> tuple[int, list[str], str]:
        code, out, err = side.result(side.ctl().run("endpoint", "health"))
        return code, sorted(err.splitlines()), out  # etcdctl 3.4 reports on stderr

    code, lines, _ = same(led_by_n1, health)
    assert code == 0 and len(lines) == 3


def test_endpoint_health_json(led_by_n1: tuple[Side, Side]) -> None:
    def health(side: Side) -> list[dict]:
        data = side.tokens.data(
            json.loads(side.ctl().run("endpoint", "health", "-w", "json").check().stdout)
        )
        for item in data:
            item["took"] = "*"
        return sorted(data, key=lambda item: item["endpoint"])

    same(led_by_n1, health)


def test_move_leader_through_leader(led_by_n1: tuple[Side, Side]) -> None:
    for target in ("n2", "n1"):
        result = same(led_by_n1, lambda s, t=target: s.result(s.move_leader(t)))
        assert result[0] == 0, result
        for side in led_by_n1:
            assert side.cluster.wait_leader().name == target


def test_move_leader_given_only_a_follower(led_by_n1: tuple[Side, Side]) -> None:
    result = same(led_by_n1, lambda s: s.result(s.ctl("n2").run("move-leader", s.hex_id("n3"))))
    assert result[0] != 0, result


def raw_move(member: Member, target_id: int) -> str:
    with RawClient(member.endpoint) as client:
        return str(client.call("MoveLeader", rpc_pb2.MoveLeaderRequest(targetID=target_id)))


def test_move_leader_rpc_on_a_follower(led_by_n1: tuple[Side, Side]) -> None:
    def answer(side: Side) -> str:
        target = side.cluster.member_id(side.cluster["n3"])
        return side.tokens.text(raw_move(side.cluster["n2"], target))

    assert same(led_by_n1, answer).startswith("error ")


def test_move_leader_rpc_to_an_unknown_member(led_by_n1: tuple[Side, Side]) -> None:
    answer = same(led_by_n1, lambda s: raw_move(s.cluster["n1"], UNKNOWN_MEMBER_ID))
    assert answer.startswith("error "), answer


def test_move_leader_rpc_answer(led_by_n1: tuple[Side, Side]) -> None:
    """A moved leadership is answered with an empty MoveLeaderResponse (no header)."""

    def answer(side: Side) -> str:
        target = side.cluster.member_id(side.cluster["n2"])
        return raw_move(side.cluster["n1"], target)

    assert same(led_by_n1, answer) == ""
