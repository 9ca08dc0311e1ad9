"""Auth on a three-member kvcore cluster: set up through any member, enforced by every
member, tokens valid on members other than the one that issued them."""

from __future__ import annotations

from pathlib import Path

from support.cluster import KvcoreCluster
from support.etcdctl import CtlResult
from support.process import Supervisor

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from . import steps
from .authclient import AuthClient, failure

ROOT = ("--user", "root:rootpw")
USER = ("--user", "u:upw")
DENIED = "Error: etcdserver: permission denied"


def _error(result: CtlResult) -> str:
    return result.stderr.strip().splitlines()[-1]


def test_auth_flows_on_a_three_member_cluster(supervisor: Supervisor, tmp_path: Path) -> None:
    cluster = KvcoreCluster(supervisor, tmp_path / "cluster", 3)
    try:
        cluster.start()
        names = sorted(cluster.members)
        first, second, third = (cluster.etcdctl([cluster[n]]) for n in names)
        steps.run(first, steps.ROOT)
        steps.run(second, steps.ENABLE)
        steps.run(third, steps.LIMITED_USER, *ROOT)
        for name, ctl in zip(names, (first, second, third), strict=True):
            assert _error(ctl.run("get", "p/")) == "Error: etcdserver: user name is empty"
            ctl.run(*USER, "put", f"p/{name}", name).check()
            assert _error(ctl.run(*USER, "put", "other", "1")) == DENIED
            assert _error(ctl.run(*USER, "get", "other", "--consistency=s")) == DENIED
            assert _error(ctl.run(*USER, "user", "list")) == DENIED
            assert ctl.run(*ROOT, "user", "list").check().stdout == "root\nu\n"
        got = third.run(*USER, "get", "p/", "--prefix", "--keys-only").check().stdout.split()
        assert got == [f"p/{n}" for n in names]

        # A token issued by one member serves on the others.
        with AuthClient(cluster[names[0]].endpoint) as issuer:
            token = issuer.token("u", "upw")
        for name in names[1:]:
            with AuthClient(cluster[name].endpoint) as other:
                reply = other.call("KV.Range", pb.RangeRequest(key=b"p/", range_end=b"p0"), token)
                assert failure(reply) == "ok" and reply.count == 3

        # A permission revoked through one member is refused by all.
        second.run(*ROOT, "role", "revoke-permission", "r", "p/", "--prefix").check()
        for ctl in (first, second, third):
            assert _error(ctl.run(*USER, "get", "p/", "--prefix")) == DENIED
        first.run(*ROOT, "auth", "disable").check()
        assert third.run("get", "p/", "--prefix", "--keys-only").check().stdout.split()
    finally:
        cluster.stop_all()
