"""A whole node on every engine: crash and restart, and snapshots moved between engines.

The rest of the node suite runs on the engine named by KVCORE_TEST_ENGINE (memory by
default); ``make test-engines`` runs all of it once per engine.
"""

from __future__ import annotations

import pytest
from support.etcdctl import Etcdctl
from support.history import stored, write_batch
from support.rawclient import RawClient
from support.servers import NodeFactory, new_node, restore_snapshot

ENGINES = ["memory", "lmdb", "rocksdb"]


def _engine(name: str) -> dict:
    return {"engine": {"name": name, "options": {}}}


@pytest.mark.kvcore
@pytest.mark.parametrize("engine", ENGINES)
def test_kill9_and_restart(nodes: NodeFactory, engine: str) -> None:
    node = nodes.start("kvcore", **_engine(engine))
    with node.client() as client:
        expected = write_batch(client)
        head = client.revision()
    node.kill9()
    node.restart()
    with node.client() as client:
        assert stored(client) == (expected, head)


@pytest.mark.kvcore
@pytest.mark.etcd
@pytest.mark.parametrize(
    ("source", "target"), [("memory", "lmdb"), ("lmdb", "rocksdb"), ("rocksdb", "memory")]
)
def test_snapshot_moves_a_node_between_engines(
    nodes: NodeFactory, tmp_path, source: str, target: str
) -> None:
    node = nodes.start("kvcore", **_engine(source))
    ctl = Etcdctl(node.endpoint)
    for i in range(30):
        ctl.run("put", f"s/{i % 10}", f"v{i}").check()
    ctl.run("compact", "20").check()
    before = ctl.json("get", "s/", "--prefix")
    hash_before = ctl.json("endpoint", "hashkv")[0]["HashKV"]
    snap = tmp_path / "node.snap"
    ctl.run("snapshot", "save", str(snap)).check()

    restored = new_node(node.supervisor, tmp_path / "restored", "kvcore", **_engine(target))
    restore_snapshot(snap, restored)
    restored.start()
    nodes.adopt(restored)
    after_ctl = Etcdctl(restored.endpoint)
    after = after_ctl.json("get", "s/", "--prefix")
    assert after["kvs"] == before["kvs"]
    assert after["header"]["revision"] == before["header"]["revision"]
    hash_after = after_ctl.json("endpoint", "hashkv")[0]["HashKV"]
    assert (hash_after["hash"], hash_after["compact_revision"]) == (
        hash_before["hash"],
        hash_before["compact_revision"],
    )
    below = after_ctl.run("get", "s/0", "--rev", "19")
    assert below.code != 0 and "required revision has been compacted" in below.stderr
    with RawClient(restored.endpoint) as client:
        assert client.revision() == before["header"]["revision"]
