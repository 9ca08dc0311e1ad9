"""etcdctl txn, fed through stdin as a person would type it, both branches taken."""

from __future__ import annotations

import pytest

from .compare import Pair

pytestmark = pytest.mark.etcd


def txn_input(compares: list[str], success: list[str], failure: list[str]) -> str:
    """etcdctl's txn dialogue: compares, success ops, failure ops, each ended by a blank line."""
    blocks = (compares, success, failure)
    return "".join("".join(f"{line}\n" for line in block) + "\n" for block in blocks)


@pytest.mark.parametrize("interactive", [True, False], ids=["interactive", "piped"])
def test_value_compare_both_branches(pair: Pair, interactive: bool) -> None:
    prefix = f"tv-{interactive}/"
    flags = ["-i"] if interactive else []
    pair.same("put", f"{prefix}k", "on")
    taken = txn_input(
        [f'value("{prefix}k") = "on"'],
        [f"put {prefix}r yes", f"get {prefix}k"],
        [f"put {prefix}r no"],
    )
    pair.same("txn", *flags, stdin=taken)
    missed = txn_input(
        [f'value("{prefix}k") != "on"'],
        [f"put {prefix}r yes"],
        [f"put {prefix}r no", f"del {prefix}k"],
    )
    pair.same("txn", *flags, stdin=missed)
    pair.same("get", prefix, "--prefix")


def test_mod_and_create_compares(pair: Pair) -> None:
    pair.same("put", "tm/a", "1")  # start+1
    pair.same("put", "tm/a", "2")  # start+2

    def compares(*lines: str) -> str:
        return txn_input(list(lines), ["put tm/r hit"], ["put tm/r miss"])

    pair.same("txn", "-i", stdin=lambda start: compares(f'mod("tm/a") = "{start + 2}"'))
    pair.same("get", "tm/r")
    pair.same("txn", "-i", stdin=lambda start: compares(f'create("tm/a") > "{start + 1}"'))
    pair.same("get", "tm/r")
    pair.same(
        "txn",
        "-w",
        "json",
        stdin=lambda start: compares(f'create("tm/a") = "{start + 1}"', 'version("tm/a") = "2"'),
    )
    pair.same("txn", "-i", stdin=compares('version("tm/none") = "0"', 'mod("tm/none") < "1"'))
    pair.same("get", "tm/", "--prefix", "-w", "json")


def test_txn_errors(pair: Pair) -> None:
    pair.same("txn", stdin=txn_input([], ["put te/a 1", "put te/a 2"], []))
    pair.same("txn", stdin=txn_input(['value("te/a") = "x"'], ["put te/a 1", "del te/a"], []))
    pair.same("get", "te/", "--prefix", "--count-only", "-w", "json")
