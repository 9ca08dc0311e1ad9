"""One cluster, three engines: every member holds the same history (equal HashKV)."""

from __future__ import annotations

from collections.abc import Callable

from support.cluster import KvcoreCluster

ENGINES = {"n1": "memory", "n2": "lmdb", "n3": "rocksdb"}


def test_members_on_different_engines_agree(
    make_kvcore_cluster: Callable[..., KvcoreCluster],
) -> None:
    cluster = make_kvcore_cluster(
        per_member={name: {"engine": {"name": e, "options": {}}} for name, e in ENGINES.items()}
    )
    ctl = cluster.etcdctl()
    for i in range(40):
        ctl.run("put", f"mixed/{i % 7}", f"value-{i}").check()
    ctl.run("del", "mixed/3").check()
    ctl.run("compact", "30").check()
    revision = cluster.wait_converged()
    hashes = {}
    for member in cluster.live():
        answer = cluster.etcdctl([member]).json("endpoint", "hashkv", "--rev", str(revision))
        hashes[member.name] = (answer[0]["HashKV"]["hash"], answer[0]["HashKV"]["compact_revision"])
    assert len(set(hashes.values())) == 1, hashes
    assert next(iter(hashes.values()))[1] == 30
