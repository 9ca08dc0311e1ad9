"""Snapshots cross between kvcore and etcd: both write bbolt files of etcd's buckets.

``etcdctl snapshot status`` reads a kvcore snapshot, ``etcdctl snapshot restore`` makes
an etcd data dir of one, and ``kvcore snapshot restore`` makes a kvcore data dir of an
etcd snapshot; the restored server serves the same keys at the same revisions, and
users log in with their passwords (both keep etcd's bcrypt hashes).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import grpc
import pytest
from support.servers import NodeFactory, Server, new_node, restore_snapshot

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from .nodes import CALL_TIMEOUT_SECONDS, Stubs, buckets_crc, snapshot_pairs

pytestmark = pytest.mark.etcd

BIG = b"v" * 10_000  # past a page: the leaf takes overflow pages


def _history(node: Server) -> int:
    """Writes, deletes and a compaction; returns the revision after them."""
    with Stubs(node) as stubs:
        for i in range(600):  # many leaf pages under a branch page
            stubs.kv.Put(pb.PutRequest(key=b"k/%04d" % i, value=b"%d" % i))
        stubs.kv.Put(pb.PutRequest(key=b"big", value=BIG))
        stubs.kv.DeleteRange(pb.DeleteRangeRequest(key=b"k/0000", range_end=b"k/0100"))
        lease = stubs.lease.LeaseGrant(pb.LeaseGrantRequest(TTL=600)).ID
        stubs.kv.Put(pb.PutRequest(key=b"leased", value=b"x", lease=lease))
        rev = stubs.kv.Put(pb.PutRequest(key=b"k/0200", value=b"again")).header.revision
        stubs.kv.Compact(pb.CompactionRequest(revision=rev - 50, physical=True))
        return rev


def _everything(node: Server) -> pb.RangeResponse:
    with Stubs(node) as stubs:
        request = pb.RangeRequest(key=b"\0", range_end=b"\0")
        return stubs.kv.Range(request, timeout=CALL_TIMEOUT_SECONDS)


def test_etcdctl_reads_a_kvcore_snapshot(nodes: NodeFactory, tmp_path) -> None:
    node = nodes.start("kvcore")
    rev = _history(node)
    snapshot = tmp_path / "kvcore.snap"
    node.etcdctl().run("snapshot", "save", str(snapshot)).check()

    status = node.etcdctl().json("snapshot", "status", str(snapshot))

    # etcdctl's hash: every bucket's name (empty ones too), keys and values.
    pairs = snapshot_pairs(snapshot)
    crc = buckets_crc(pairs)
    assert status["revision"] == rev
    assert status["totalKey"] == len(pairs)
    assert status["hash"] == crc


def test_etcd_serves_a_restored_kvcore_snapshot(nodes: NodeFactory, tmp_path) -> None:
    node = nodes.start("kvcore")
    want, snapshot = _saved_with_auth(node, tmp_path / "kvcore.snap")

    etcd = new_node(node.supervisor, tmp_path / "etcd", "etcd")
    restore = [
        "etcdctl", "snapshot", "restore", str(snapshot),
        f"--data-dir={etcd.workdir / 'data'}",
        f"--name={etcd.name}",
        f"--initial-cluster={etcd.initial_cluster()}",
        f"--initial-advertise-peer-urls={etcd.peer_url}",
    ]  # fmt: skip
    subprocess.run(restore, check=True, capture_output=True, env={"ETCDCTL_API": "3"})
    etcd.start()
    nodes.adopt(etcd)

    _check_restored(etcd, want)
    with Stubs(etcd) as stubs, pytest.raises(grpc.RpcError, match="compacted"):
        # The compaction point came along.
        stubs.kv.Range(pb.RangeRequest(key=b"k/0300", revision=2), timeout=CALL_TIMEOUT_SECONDS)


def test_kvcore_serves_a_restored_etcd_snapshot(nodes: NodeFactory, tmp_path) -> None:
    etcd = nodes.start("etcd")
    want, snapshot = _saved_with_auth(etcd, tmp_path / "etcd.snap")

    restored = new_node(etcd.supervisor, tmp_path / "restored", "kvcore")
    restore_snapshot(snapshot, restored)
    restored.start()
    nodes.adopt(restored)

    _check_restored(restored, want)


def _saved_with_auth(node: Server, snapshot: Path) -> tuple[pb.RangeResponse, Path]:
    """Write the history, turn auth on and save a snapshot; returns every key as it
    stood, and the snapshot."""
    _history(node)
    want = _everything(node)
    _enable_auth(node)
    node.etcdctl().run(*ROOT, "snapshot", "save", str(snapshot)).check()
    return want, snapshot


def _check_restored(node: Server, want: pb.RangeResponse) -> None:
    """The users log in as before, and every key is there at its revision."""
    _check_logins(node)
    node.etcdctl().run(*ROOT, "auth", "disable").check()
    got = _everything(node)
    assert list(got.kvs) == list(want.kvs)
    assert got.header.revision == want.header.revision


ROOT = ("--user", "root:rootpw")


def _enable_auth(node: Server) -> None:
    """root, and alice who may read and write under k/."""
    ctl = node.etcdctl()
    for args in (
        ("user", "add", "root:rootpw"),
        ("user", "grant-role", "root", "root"),
        ("user", "add", "alice:alicepw"),
        ("role", "add", "k"),
        ("role", "grant-permission", "k", "readwrite", "k/", "--prefix"),
        ("user", "grant-role", "alice", "k"),
        ("auth", "enable"),
    ):
        ctl.run(*args).check()


def _check_logins(node: Server) -> None:
    ctl = node.etcdctl()
    got = ctl.run("--user", "alice:alicepw", "get", "k/0200", "--print-value-only").check()
    assert got.stdout.strip() == "again"
    wrong = ctl.run("--user", "alice:alicepW", "get", "k/0200")
    assert "authentication failed" in wrong.stderr
    denied = ctl.run("--user", "alice:alicepw", "get", "big")
    assert "permission denied" in denied.stderr

