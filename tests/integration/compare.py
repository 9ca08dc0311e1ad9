"""Run one etcdctl command against the subject and against etcd; the outputs must agree.

Both servers are shared by a test module, so each side counts revisions from where it
stood when the test began: ``Rev(n)`` in a command is "n revisions after the start",
and revisions in ``-w json`` output are shown the same way. Ids, endpoints, durations
and etcdctl's retry log lines are taken out before comparing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from support.etcdctl import CtlResult
from support.normalize import json_without_ids
from support.servers import Server

REVISION_FIELDS = ("revision", "create_revision", "mod_revision", "compact_revision")
MASKED = "<masked>"
_LOG_LINE = re.compile(r'^\{"level":.*\}$')
_TOOK = re.compile(r"took = \S+")


@dataclass(frozen=True)
class Rev:
    """A revision relative to the test's start on each side."""

    n: int


Arg = str | Rev
# Text for etcdctl's stdin, or a function of the side's start revision that makes it.
Stdin = str | Callable[[int], str] | None


class Side:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.ctl = server.etcdctl()
        with server.client() as client:
            self.base = client.revision()

    def run(self, *args: Arg, stdin: Stdin = None) -> CtlResult:
        argv = [str(self.base + a.n) if isinstance(a, Rev) else a for a in args]
        return self.ctl.run(*argv, stdin=stdin(self.base) if callable(stdin) else stdin)

    def normalize(self, result: CtlResult, mask: Iterable[str] = ()) -> tuple[int, str, str]:
        return (
            result.code,
            self._text(self._stdout(result.stdout, set(mask))),
            self._text(
                "\n".join(ln for ln in result.stderr.splitlines() if not _LOG_LINE.match(ln))
            ),
        )

    def _stdout(self, stdout: str, mask: set[str]) -> str:
        try:
            data = json.loads(stdout)
        except ValueError:
            return stdout
        return json.dumps(self._relative(json_without_ids(data), mask), indent=1, sort_keys=True)

    def _relative(self, data: Any, mask: set[str]) -> Any:
        if isinstance(data, list):
            return [self._relative(item, mask) for item in data]
        if not isinstance(data, dict):
            return data
        out = {}
        for key, value in data.items():
            if key in mask:
                out[key] = MASKED
            elif key in REVISION_FIELDS and isinstance(value, int):
                out[key] = f"start+{value - self.base}"
            else:
                out[key] = self._relative(value, mask)
        return out

    def _text(self, text: str) -> str:
        return _TOOK.sub("took = <t>", text.replace(self.server.endpoint, "<endpoint>"))


class Pair:
    """The subject and etcd, driven with the same commands."""

    def __init__(self, subject: Server, reference: Server) -> None:
        self.subject = Side(subject)
        self.reference = Side(reference)

    def same(self, *args: Arg, stdin: Stdin = None, mask: Iterable[str] = ()) -> CtlResult:
        """Run on both; assert the normalized outputs agree; return the subject's result."""
        with ThreadPoolExecutor(max_workers=1) as other:  # both sides run side by side
            pending = other.submit(self.reference.run, *args, stdin=stdin)
            ours = self.subject.run(*args, stdin=stdin)
            theirs = pending.result()
        got = self.subject.normalize(ours, mask)
        want = self.reference.normalize(theirs, mask)
        assert got == want, (
            f"etcdctl {' '.join(map(str, args))}\n"
            f"--- {self.subject.server.kind} (exit, stdout, stderr):\n{_show(got)}\n"
            f"--- etcd:\n{_show(want)}"
        )
        return ours

    def script(self, *commands: tuple[Arg, ...]) -> None:
        for command in commands:
            self.same(*command)


def _show(normalized: tuple[int, str, str]) -> str:
    code, out, err = normalized
    return f"exit {code}\n{out}\n{err}"
