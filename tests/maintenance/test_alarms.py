"""Alarms and the backend quota, against etcd started with the same quota.

The scenario fills a store past a tiny quota with etcdctl, then checks what etcd's
operators do about it: alarm list, endpoint status, reads and deletes still served,
compact + defrag, alarm disarm, and writes accepted again. Both servers must print the
same thing at every step (member ids masked).
"""

from __future__ import annotations

import grpc
import pytest
from support.etcdctl import CtlResult, Etcdctl
from support.process import Supervisor
from support.servers import NodeFactory, Server

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .nodes import QuotaEtcd, alarm, masked, put

pytestmark = pytest.mark.etcd

QUOTA_BYTES = 300_000
VALUE = "v" * 10_000
NO_SPACE = "Error: etcdserver: mvcc: database space exceeded"


def _quota_pair(nodes: NodeFactory, supervisor: Supervisor, tmp_path) -> tuple[Server, Server]:
    workdir = tmp_path / "etcd"
    workdir.mkdir()
    etcd = QuotaEtcd(supervisor, workdir)
    etcd.quota_bytes = QUOTA_BYTES
    nodes.adopt(etcd.start())
    kvcore = nodes.start("kvcore", limits={"quota_backend_bytes": QUOTA_BYTES})
    return kvcore, etcd


def _outcome(result: CtlResult) -> str:
    """What a command printed: its output, or the error line etcdctl ends with."""
    if result.code == 0:
        return masked(result.stdout)
    return result.stderr.strip().splitlines()[-1]


def _fill(ctl: Etcdctl) -> int:
    """Put values until the quota refuses one; how many went in."""
    for i in range(100):
        result = ctl.run("put", f"fill/{i:03d}", VALUE)
        if result.code != 0:
            assert _outcome(result) == NO_SPACE
            return i
    raise AssertionError("the quota never refused a put")


def _scenario(server: Server) -> list[str]:
    ctl = server.etcdctl()
    filled = _fill(ctl)
    seen = [f"filled: {filled > 10}"]
    seen.append(_outcome(ctl.run("alarm", "list")))
    seen.append(_outcome(ctl.run("put", "more", "x")))
    seen.append(_outcome(ctl.run("txn", stdin="\nput more x\n\n")))
    seen.append(_outcome(ctl.run("get", "fill/000", "--keys-only")))
    (status,) = ctl.json("endpoint", "status")
    seen.append(masked(repr(status["Status"].get("errors"))))
    seen.append(masked(ctl.run("endpoint", "status").stdout.split(",")[-1]))
    deleted = ctl.run("del", "fill/", "--prefix").check().stdout
    seen.append(f"deleted all: {int(deleted) == filled}")
    revision = ctl.json("get", "fill/000")["header"]["revision"]
    compacted = _outcome(ctl.run("compact", "--physical", str(revision)))
    seen.append(compacted.replace(str(revision), "<revision>"))
    seen.append(_outcome(ctl.run("defrag")).replace(server.endpoint, "<endpoint>"))
    seen.append(_outcome(ctl.run("put", "more", "x")))  # the alarm still stands
    seen.append(_outcome(ctl.run("alarm", "disarm")))
    seen.append(_outcome(ctl.run("alarm", "list")))
    seen.append(_outcome(ctl.run("put", "more", "x")))
    (status,) = ctl.json("endpoint", "status")
    seen.append(repr(status["Status"].get("errors")))
    return seen


def test_quota_alarm_disarm_like_etcd(nodes: NodeFactory, supervisor: Supervisor, tmp_path) -> None:
    kvcore, etcd = _quota_pair(nodes, supervisor, tmp_path)
    expected = _scenario(etcd)
    assert expected[1] == "memberID:<id> alarm:NOSPACE \n"  # the reference saw the alarm
    assert _scenario(kvcore) == expected


def _corrupt_scenario(server: Server) -> list[str]:
    ctl = server.etcdctl()
    member_id = ctl.json("endpoint", "status")[0]["Status"]["header"]["member_id"]
    seen = [masked(str(alarm(server, pb.AlarmRequest.ACTIVATE, pb.AlarmType.CORRUPT, member_id)))]
    seen.append(str(put(server, b"k", b"v")))
    seen.append(_outcome(ctl.run("put", "k", "v")))
    seen.append(_outcome(ctl.run("get", "k")))
    seen.append(_outcome(ctl.run("alarm", "list")))
    seen.append(_outcome(ctl.run("alarm", "disarm")))
    seen.append(str(put(server, b"k", b"v")))
    seen.append(_outcome(ctl.run("get", "k", "--print-value-only")))
    return seen


def test_corrupt_alarm_like_etcd(fresh_pair_servers: tuple[Server, Server]) -> None:
    kvcore, etcd = fresh_pair_servers
    expected = _corrupt_scenario(etcd)
    assert expected[1] == str(grpc.StatusCode.DATA_LOSS)
    assert _corrupt_scenario(kvcore) == expected


def test_alarm_survives_restart(nodes: NodeFactory) -> None:
    kvcore = nodes.start("kvcore")
    ctl = kvcore.etcdctl()
    member_id = ctl.json("endpoint", "status")[0]["Status"]["header"]["member_id"]
    alarm(kvcore, pb.AlarmRequest.ACTIVATE, pb.AlarmType.NOSPACE, member_id)
    kvcore.restart()
    assert masked(ctl.run("alarm", "list").check().stdout) == "memberID:<id> alarm:NOSPACE \n"
    assert put(kvcore, b"k", b"v") == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert ctl.run("del", "k").check().stdout == "0\n"  # deletes still go through
    ctl.run("alarm", "disarm").check()
    assert put(kvcore, b"k", b"v") == grpc.StatusCode.OK


@pytest.fixture
def fresh_pair_servers(nodes: NodeFactory) -> tuple[Server, Server]:
    return nodes.start("kvcore"), nodes.start("etcd")


def _odd_alarm_scenario(server: Server) -> list[str]:
    """An alarm of type NONE for some member: kept and listed, yet it forbids nothing."""
    ctl = server.etcdctl()
    seen = [str(alarm(server, pb.AlarmRequest.ACTIVATE, pb.AlarmType.NONE, 12345))]
    seen.append(_outcome(ctl.run("alarm", "list")))
    seen.append(str(put(server, b"k", b"v")))
    (status,) = ctl.json("endpoint", "status")
    seen.append(repr(status["Status"].get("errors")))
    seen.append(str(alarm(server, pb.AlarmRequest.DEACTIVATE, pb.AlarmType.NONE, 12345)))
    seen.append(_outcome(ctl.run("alarm", "list")))
    return seen


def test_alarm_of_type_none_like_etcd(fresh_pair_servers: tuple[Server, Server]) -> None:
    kvcore, etcd = fresh_pair_servers
    expected = _odd_alarm_scenario(etcd)
    assert expected[1] == "memberID:<id> \n"  # listed (gogo's text leaves out NONE)
    assert _odd_alarm_scenario(kvcore) == expected
