"""etcdctl (API v3) against one endpoint, as a function that never raises on exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class CtlResult:
    stdout: str
    stderr: str
    code: int

    def check(self) -> CtlResult:
        assert self.code == 0, f"etcdctl exited {self.code}: {self.stderr or self.stdout}"
        return self


class Etcdctl:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._env = {**os.environ, "ETCDCTL_API": "3"}

    def run(self, *args: str, stdin: str | None = None) -> CtlResult:
        argv = ["etcdctl", f"--endpoints={self.endpoint}", "--command-timeout=10s", *args]
        done = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            env=self._env,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        return CtlResult(done.stdout, done.stderr, done.returncode)

    def json(self, *args: str) -> Any:
        """Run with ``-w json`` and parse stdout; the command must succeed."""
        return json.loads(self.run("-w", "json", *args).check().stdout)
