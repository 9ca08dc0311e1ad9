"""etcdctl member list, endpoint status and endpoint health.

Member ids, names, peer URLs, versions, sizes and raft indexes belong to each server;
the shape of the output, the client URL, leadership and the revision must agree.
"""

from __future__ import annotations

import re

import pytest

from .compare import Pair, Side

pytestmark = pytest.mark.etcd

HEX_ID = re.compile(r"^[0-9a-f]{1,16}$")
STATUS_OWN = ("version", "dbSize", "dbSizeInUse", "raftIndex", "raftTerm", "raftAppliedIndex")


def _fields(side: Side, *args: str) -> list[str]:
    """One line of etcdctl's simple output, split into its comma-separated fields."""
    lines = side.run(*args).check().stdout.splitlines()
    assert len(lines) == 1, lines
    return [field.strip() for field in lines[0].split(",")]


def test_member_list(pair: Pair) -> None:
    pair.same("member", "list", "-w", "json", mask=("ID", "name", "peerURLs"))
    for side in (pair.subject, pair.reference):
        data = side.ctl.json("member", "list")
        assert [m["ID"] for m in data["members"]] == [data["header"]["member_id"]]
        member_id, status, _name, _peers, clients, learner = _fields(side, "member", "list")
        assert HEX_ID.match(member_id)
        assert int(member_id, 16) == data["header"]["member_id"]
        assert (status, clients, learner) == ("started", f"http://{side.server.endpoint}", "false")


def test_endpoint_status(pair: Pair) -> None:
    pair.same("endpoint", "status", "-w", "json", mask=(*STATUS_OWN, "leader"))
    for side in (pair.subject, pair.reference):
        (status,) = side.ctl.json("endpoint", "status")
        assert status["Status"]["leader"] == status["Status"]["header"]["member_id"]
        fields = _fields(side, "endpoint", "status")
        endpoint, member_id, _version, _size, leader, learner, *_raft, errors = fields
        assert len(fields) == 10, fields
        assert (endpoint, leader, learner, errors) == (side.server.endpoint, "true", "false", "")
        assert int(member_id, 16) == status["Status"]["header"]["member_id"]


def test_endpoint_health(pair: Pair) -> None:
    pair.same("endpoint", "health")
    pair.same("endpoint", "health", "-w", "json", mask=("took",))
