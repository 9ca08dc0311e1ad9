"""etcdctl's user, role and auth commands: kvcore prints what etcd 3.4 prints, errors
included, with auth off and on, as root and as a user with limited permissions."""

from __future__ import annotations

from pathlib import Path

import pytest
from integration.compare import Pair, Rev

pytestmark = pytest.mark.etcd

ROOT = ("--user", "root:rootpw")
USER = ("--user", "u:upw")


def _root_and_enable(pair: Pair) -> None:
    pair.script(
        ("user", "add", "root:rootpw"),
        ("role", "add", "root"),
        ("user", "grant-role", "root", "root"),
        ("auth", "enable"),
    )


def test_auth_enable_needs_a_root_user_with_the_root_role(pair: Pair) -> None:
    pair.script(
        ("auth", "enable"),
        ("auth", "disable"),
        ("user", "add", "root:rootpw"),
        ("auth", "enable"),
        ("role", "add", "root"),
        ("user", "grant-role", "root", "root"),
        ("put", "k", "v"),
        ("auth", "enable"),
        ("get", "k"),
        ("put", "k", "v2"),
        (*ROOT, "get", "k"),
        ("--user", "root:wrong", "get", "k"),
        ("--user", "nobody:pw", "get", "k"),
        ("auth", "enable"),
        (*ROOT, "auth", "enable"),
        (*ROOT, "user", "delete", "root"),
        (*ROOT, "role", "delete", "root"),
        (*ROOT, "user", "revoke-role", "root", "root"),
        (*ROOT, "auth", "disable"),
        ("get", "k"),
        ("auth", "disable"),
    )


def test_users(pair: Pair) -> None:
    pair.script(
        ("user", "add", "alice:pw"),
        ("user", "add", "alice:pw"),
        ("user", "add", "bob", "--new-user-password=pw2"),
        ("user", "add", "carol", "--no-password"),
        ("user", "list"),
        ("user", "list", "-w", "json"),
        ("user", "get", "alice"),
        ("user", "get", "nobody"),
        ("role", "add", "ops"),
        ("role", "add", "dev"),
        ("user", "grant-role", "alice", "ops"),
        ("user", "grant-role", "alice", "dev"),
        ("user", "grant-role", "alice", "ops"),
        ("user", "grant-role", "alice", "missing"),
        ("user", "grant-role", "nobody", "ops"),
        ("user", "get", "alice"),
        ("user", "get", "alice", "--detail"),
        ("user", "get", "alice", "-w", "json"),
        ("user", "revoke-role", "alice", "ops"),
        ("user", "revoke-role", "alice", "ops"),
        ("user", "revoke-role", "nobody", "ops"),
        ("user", "get", "alice"),
        ("user", "delete", "bob"),
        ("user", "delete", "bob"),
        ("user", "list"),
    )
    pair.same("user", "passwd", "alice", "--interactive=false", stdin="newpw\n")
    pair.same("user", "passwd", "nobody", "--interactive=false", stdin="newpw\n")


def test_roles_and_permissions(pair: Pair) -> None:
    pair.script(
        ("role", "add", "r"),
        ("role", "add", "r"),
        ("role", "get", "r"),
        ("role", "get", "missing"),
        ("role", "grant-permission", "r", "read", "one"),
        ("role", "grant-permission", "r", "write", "a", "c"),
        ("role", "grant-permission", "r", "readwrite", "p/", "--prefix"),
        ("role", "grant-permission", "r", "read", "z", "--from-key"),
        ("role", "grant-permission", "r", "write", "one"),
        ("role", "grant-permission", "missing", "read", "k"),
        ("role", "grant-permission", "r", "bogus", "k"),
        ("role", "get", "r"),
        ("role", "get", "r", "-w", "json"),
        ("role", "revoke-permission", "r", "a", "c"),
        ("role", "revoke-permission", "r", "a", "c"),
        ("role", "revoke-permission", "r", "p/", "--prefix"),
        ("role", "revoke-permission", "r", "z", "--from-key"),
        ("role", "revoke-permission", "missing", "k"),
        ("role", "get", "r"),
        ("role", "add", "s"),
        ("role", "list"),
        ("role", "list", "-w", "json"),
        ("user", "add", "u:pw"),
        ("user", "grant-role", "u", "r"),
        ("role", "delete", "r"),
        ("role", "delete", "r"),
        ("user", "get", "u"),
        ("role", "list"),
    )


def test_an_empty_permission_range_is_refused(pair: Pair) -> None:
    """etcd 3.5 refuses a range that holds no key (3.4 stores it): kvcore is 3.5 here."""
    pair.subject.run("role", "add", "r").check()
    refused = pair.subject.run("role", "grant-permission", "r", "read", "c", "a")
    assert (refused.code, refused.stderr.strip().splitlines()[-1]) == (
        1,
        "Error: etcdserver: invalid auth management",
    )


def _limited_user(pair: Pair) -> None:
    """u: readwrite on the prefix p/, read on ro, write from wo on."""
    _root_and_enable(pair)
    pair.script(
        (*ROOT, "user", "add", "u:upw"),
        (*ROOT, "role", "add", "r"),
        (*ROOT, "role", "grant-permission", "r", "readwrite", "p/", "--prefix"),
        (*ROOT, "role", "grant-permission", "r", "read", "ro"),
        (*ROOT, "role", "grant-permission", "r", "write", "wo", "--from-key"),
        (*ROOT, "user", "grant-role", "u", "r"),
        (*ROOT, "put", "ro", "1"),
        (*ROOT, "put", "other", "1"),
    )


def test_limited_user_on_every_kv_request(pair: Pair) -> None:
    _limited_user(pair)
    pair.script(
        (*USER, "put", "p/a", "1"),
        (*USER, "get", "p/", "--prefix"),
        (*USER, "put", "p/a", "2", "--prev-kv"),
        (*USER, "del", "p/a", "--prev-kv"),
        (*USER, "get", "ro"),
        (*USER, "put", "wo/x", "1"),
        (*USER, "put", "zzz", "1"),
        # Denied: each request kind, on a key or range outside the grants.
        (*USER, "get", "other"),
        (*USER, "get", "p/", "--prefix", "--rev", "1"),
        (*USER, "get", "o", "--prefix"),
        (*USER, "get", "p/", "--from-key"),
        (*USER, "get", "wo/x"),
        (*USER, "get", "ro", "--consistency=s"),
        (*USER, "put", "ro", "2"),
        (*USER, "put", "other", "2"),
        (*USER, "put", "wo/x", "2", "--prev-kv"),
        (*USER, "del", "other"),
        (*USER, "del", "ro"),
        (*USER, "del", "p/", "--prefix"),
        (*USER, "del", "wo/x", "--prev-kv"),
        (*USER, "del", "wo", "--from-key"),
    )


def test_limited_user_txn(pair: Pair) -> None:
    _limited_user(pair)
    txns = [
        'value("p/a") = "1"\n\nput p/a 2\n\nget p/a\n\n',  # all within the grants
        'value("ro") = "1"\n\nget ro\n\n\n',
        'value("other") = "1"\n\nput p/a 3\n\n\n',  # compare outside
        'value("ro") = "1"\n\nput ro 2\n\n\n',  # put on a read-only key
        'value("ro") = "1"\n\nget p/a\n\nget other\n\n',  # read in failure branch
        'value("ro") = "1"\n\ndel wo/x --prev-kv\n\n\n',  # delete needing read
        'value("ro") = "1"\n\nget other\n\n\n',  # read-only txn, served locally
    ]
    for txn in txns:
        pair.same(*USER, "txn", stdin=txn)


def test_limited_user_and_admin_calls(pair: Pair, tmp_path: Path) -> None:
    _limited_user(pair)
    pair.script(
        (*USER, "user", "get", "u"),
        (*USER, "role", "get", "r"),
        (*USER, "user", "get", "root"),
        (*USER, "role", "get", "root"),
        (*USER, "user", "list"),
        (*USER, "role", "list"),
        (*USER, "user", "add", "x:pw"),
        (*USER, "role", "add", "x"),
        (*USER, "user", "grant-role", "u", "root"),
        (*USER, "role", "grant-permission", "r", "readwrite", "other"),
        (*USER, "user", "passwd", "u", "--interactive=false"),
        (*USER, "auth", "disable"),
        (*USER, "defrag"),
        (*USER, "endpoint", "hashkv"),
        (*USER, "member", "add", "x", "--peer-urls=http://127.0.0.1:1"),
        (*USER, "member", "remove", "1234"),
        (*USER, "member", "promote", "1234"),
        (*USER, "member", "update", "1234", "--peer-urls=http://127.0.0.1:1"),
        ("member", "update", "1234", "--peer-urls=http://127.0.0.1:1"),
        (*ROOT, "member", "update", "1234", "--peer-urls=http://127.0.0.1:1"),
        # The URLs are checked before the token.
        (*USER, "member", "add", "x", "--peer-urls=notaurl"),
        ("member", "add", "x", "--peer-urls=notaurl"),
        (*USER, "snapshot", "save", str(tmp_path / "denied.db")),
        ("defrag",),
        ("endpoint", "hashkv"),
        ("user", "list"),
        # etcd lets anyone compact.
        (*USER, "compaction", Rev(1)),
        ("compaction", Rev(2)),
        (*ROOT, "user", "list"),
        (*ROOT, "defrag"),
    )


def test_permission_changes_apply_to_the_next_request(pair: Pair) -> None:
    _limited_user(pair)
    pair.script(
        (*USER, "get", "other"),
        (*ROOT, "role", "grant-permission", "r", "read", "other"),
        (*USER, "get", "other"),
        (*ROOT, "user", "revoke-role", "u", "r"),
        (*USER, "get", "ro"),
        (*ROOT, "user", "grant-role", "u", "r"),
        (*USER, "get", "ro"),
        (*ROOT, "user", "delete", "u"),
        (*USER, "get", "ro"),
    )
