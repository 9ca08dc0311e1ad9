"""etcdctl steps several auth tests start from."""

from __future__ import annotations

from support.etcdctl import Etcdctl

# A root user holding the root role: what auth enable asks for.
ROOT = [
    ("user", "add", "root:rootpw"),
    ("role", "add", "root"),
    ("user", "grant-role", "root", "root"),
]
# u (password upw) with readwrite on the prefix p/.
LIMITED_USER = [
    ("user", "add", "u:upw"),
    ("role", "add", "r"),
    ("role", "grant-permission", "r", "readwrite", "p/", "--prefix"),
    ("user", "grant-role", "u", "r"),
]
ENABLE = [("auth", "enable")]


def run(ctl: Etcdctl, steps: list[tuple[str, ...]], *flags: str) -> None:
    """Run each step with ``flags`` before it; every one must succeed."""
    for args in steps:
        ctl.run(*flags, *args).check()
