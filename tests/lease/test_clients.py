"""etcdctl's lease commands and the PyPI ``etcd3`` client's lease calls see the same
from kvcore as from etcd."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.etcd3probe import run_probe
from support.servers import Server

pytestmark = [pytest.mark.kvcore, pytest.mark.etcd]

PROBE = Path(__file__).with_name("etcd3_lease_probe.py")
# etcdctl prints lease ids as 16 hex digits; servers choose them.
LEASE_ID = re.compile(r"\b[0-9a-f]{16}\b")


def test_etcd3_client_leases(kvcore: Server, etcd: Server) -> None:
    got = run_probe(PROBE, kvcore.endpoint, "probe/")
    assert got == run_probe(PROBE, etcd.endpoint, "probe/")
    assert ["refresh", [[4242, 60]]] in got
    assert ["after-revoke", []] in got


def etcdctl_session(server: Server) -> list[str]:
    """A lease's life through etcdctl; each command's output and exit code."""
    ctl = server.etcdctl()
    outputs = []

    def run(*args: str) -> str:
        done = ctl.run(*args)
        # etcdctl's clientv3 logs its retries on stderr with times and random names.
        err = done.stderr.splitlines()[-1] if done.stderr else ""
        outputs.append(f"{args[:2]} {done.code} {LEASE_ID.sub('<id>', done.stdout)} {err}")
        return done.stdout

    lease = run("lease", "grant", "60").split()[1]
    run("put", "--lease", lease, "ctl/a", "1")
    run("put", "--lease", lease, "ctl/b", "2")
    run("put", "--lease", "1234abcd", "ctl/c", "3")
    run("lease", "timetolive", "--keys", lease)
    run("lease", "list")
    run("lease", "keep-alive", "--once", lease)
    run("lease", "keep-alive", "--once", "1234abcd")
    run("lease", "timetolive", "1234abcd")
    run("lease", "revoke", lease)
    run("get", "--prefix", "ctl/")
    run("lease", "revoke", lease)
    run("lease", "list")
    return outputs


def normal(line: str) -> str:
    """What may differ between two correct answers made the same: whole seconds left
    (they depend on how fast etcdctl runs) and the order of attached keys (etcd's is
    a Go map's)."""
    line = re.sub(r"remaining\(5[5-9]s\)", "remaining(<5x>s)", line)
    return re.sub(
        r"attached keys\(\[([^\]]*)\]\)",
        lambda m: f"attached keys([{' '.join(sorted(m.group(1).split()))}])",
        line,
    )


def test_etcdctl_lease_commands(kvcore: Server, etcd: Server) -> None:
    mine = [normal(line) for line in etcdctl_session(kvcore)]
    assert mine == [normal(line) for line in etcdctl_session(etcd)]
    assert any("attached keys([ctl/a ctl/b])" in line for line in mine), mine
