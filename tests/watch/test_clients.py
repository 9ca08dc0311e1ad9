"""Real clients watch kvcore as they watch etcd: etcdctl and the PyPI ``etcd3`` client."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from support.etcd3probe import run_probe
from support.servers import Server

pytestmark = [pytest.mark.etcd, pytest.mark.kvcore]

PROBE = Path(__file__).with_name("etcd3_watch_probe.py")
# etcdctl needs a moment to open its stream before the writes it should see.
SETTLE_SECONDS = 1.0


def etcdctl_watch(server: Server, prefix: str, *flags: str, rel_rev: int = 0) -> str:
    """What ``etcdctl watch`` prints while the same writes happen under ``prefix``."""
    ctl = server.etcdctl()
    base = int(ctl.json("get", "x")["header"]["revision"])
    ctl.run("put", f"{prefix}old", "0").check()
    args = list(flags) + ([f"--rev={base + rel_rev}"] if rel_rev else [])
    argv = ["etcdctl", f"--endpoints={server.endpoint}", "watch", *args]
    watcher = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ctl._env
    )
    try:
        time.sleep(SETTLE_SECONDS)
        ctl.run("put", f"{prefix}a", "1").check()
        ctl.run("put", f"{prefix}b", "2").check()
        ctl.run("put", f"{prefix}a", "3").check()
        ctl.run("del", f"{prefix}", "--prefix").check()
        time.sleep(SETTLE_SECONDS)
    finally:
        watcher.terminate()
        out, err = watcher.communicate(timeout=10)
    assert "Error" not in err, err
    return out


@pytest.mark.parametrize(
    ("name", "flags", "watched", "rel_rev"),
    [
        ("key", [], "a", 0),
        ("prefix-prev-kv", ["--prefix", "--prev-kv"], "", 0),
        ("prefix-rev", ["--prefix"], "", 1),
    ],
)
def test_etcdctl_watch_prints_as_for_etcd(
    pair: tuple[Server, Server], name: str, flags: list[str], watched: str, rel_rev: int
) -> None:
    prefix = f"ctl-{name}/"
    args = [*flags, prefix + watched]
    ours, theirs = pair
    got = etcdctl_watch(ours, prefix, *args, rel_rev=rel_rev)
    assert got and got == etcdctl_watch(theirs, prefix, *args, rel_rev=rel_rev)


def test_etcd3_client_watches_as_against_etcd(pair: tuple[Server, Server]) -> None:
    ours, theirs = pair
    got = run_probe(PROBE, ours.endpoint, "etcd3-watch/")
    assert got == run_probe(PROBE, theirs.endpoint, "etcd3-watch/")
    assert got[2][1] is True  # the callback heard both events on its key
