"""etcdctl member list, endpoint status and endpoint health.

Member ids, names, peer URLs, versions, sizes and raft indexes belong to each server;
the shape of the output, the client URL, leadership and the revision must agree.
"""

from __future__ import annotations

import re
import time

import pytest

from kvcore.server import ids

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


def _raft_position(side: Side) -> tuple[int, int, int]:
    status = side.ctl.json("endpoint", "status")[0]["Status"]
    return status["raftIndex"], status["raftAppliedIndex"], status["raftTerm"]


def _same_raft_position(pair: Pair) -> None:
    """Both report one raft index, applied index and term (a new leader's own entries
    may still be applying for a moment after it serves)."""
    deadline = time.monotonic() + 5
    while True:
        ours, theirs = _raft_position(pair.subject), _raft_position(pair.reference)
        if ours == theirs or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert ours == theirs, f"(raft index, applied, term): {ours} where etcd has {theirs}"


def test_raft_index_and_term_move_as_etcds(fresh_pair: Pair) -> None:
    """A new member's first entries, writes (a failed txn included) and a restart move
    the raft index and term as etcd's do: clients read both in Status."""
    _same_raft_position(fresh_pair)
    fresh_pair.script(("put", "raft/a", "1"), ("put", "raft/b", "2"), ("del", "raft/a"))
    fresh_pair.same("txn", stdin="value(\"raft/b\") = \"9\"\n\nput raft/c 3\n\n")
    _same_raft_position(fresh_pair)
    for side in (fresh_pair.subject, fresh_pair.reference):
        side.server.restart()
    _same_raft_position(fresh_pair)


def _member_changes(side: Side) -> list[tuple[int, str]]:
    """(exit code, gRPC code and error) of each step; a learner added here is removed again."""
    own = f"{side.ctl.json('member', 'list')['header']['member_id']:x}"
    steps: list[tuple[int, str]] = []

    def step(*args: str) -> str:
        result = side.run(*args)
        codes = " ".join(re.findall(r"code = \w+", result.stderr))  # from the retry log
        steps.append((result.code, f"{codes} | {side.normalize(result)[2]}"))
        return result.stdout

    step("member", "remove", own)  # the lone member: refused, it keeps serving
    # Peer URLs as etcd's NewURLs takes them: any port text, no path.
    step("member", "add", "l1", "--learner", "--peer-urls=http://127.0.0.1:1/path")
    added = step("member", "add", "l1", "--learner", "--peer-urls=http://127.0.0.1:99999")
    learner = re.search(r"Member +([0-9a-f]+) added", added)
    assert learner is not None, added
    step("member", "remove", learner.group(1))
    # A voter that never starts: the next voter, or removing any other, needs it.
    step("member", "add", "v2", "--peer-urls=http://127.0.0.1:5")
    step("member", "add", "v3", "--peer-urls=http://127.0.0.1:6")
    step("member", "remove", "1")
    return steps


def test_member_changes_refused_as_etcds(fresh_pair: Pair) -> None:
    """etcd's strict reconfiguration check (a change the started members could not carry
    is refused) and its peer URL rules."""
    ours, theirs = _member_changes(fresh_pair.subject), _member_changes(fresh_pair.reference)
    assert ours == theirs
    assert ours[0] == (
        1,
        "code = Unknown | Error: etcdserver: re-configuration failed due to not enough "
        "started members",
    )


def _same_second_readds(side: Side, port: int) -> list[str]:
    """Within one second: add a learner, add it again (same peer URL), remove it and
    re-add it; the last stderr line of the last three. The learner's id must be
    etcd's: sha1 of the peer URLs and the unix second."""
    for _ in range(5):
        url = f"http://127.0.0.1:{port}"
        add = ("member", "add", "l1", "--learner", f"--peer-urls={url}")
        started = time.time()
        added = side.run(*add).check().stdout
        found = re.search(r"Member +([0-9a-f]+) added", added)
        assert found is not None, added
        learner = found.group(1)
        results = [side.run(*add), side.run("member", "remove", learner), side.run(*add)]
        if int(time.time()) == int(started):
            assert int(learner, 16) == ids.member_id([url], "", now=int(started)), learner
            return [(r.stderr.splitlines() or [""])[-1] for r in results]
        for member in side.ctl.json("member", "list")["members"]:  # try again from scratch
            if member.get("isLearner"):
                side.run("member", "remove", f"{member['ID']:x}").check()
        port += 1  # the old URL's id may be taken or removed
    raise AssertionError("no second held the whole sequence")


def test_same_second_readds_and_member_ids_as_etcds(fresh_pair: Pair) -> None:
    """An added member's id is etcd's (peer URLs and the second, no cluster token): the
    same URLs added again within the second collide with it, and a removed id re-added
    within the second is refused as removed."""
    ours = _same_second_readds(fresh_pair.subject, 7001)
    theirs = _same_second_readds(fresh_pair.reference, 7001)
    assert ours == theirs
    assert ours == [
        "Error: etcdserver: member ID already exist",
        "",
        "Error: etcdserver: member not found",
    ]
