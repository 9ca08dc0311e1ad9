"""A subprocess the tests own: started in its own process group, always stopped.

Output goes to a log file (a pipe nobody reads would block the child); errors quote
its tail. A :class:`Supervisor` remembers every process it started so that a session
can stop whatever a failed fixture left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

POLL_SECONDS = 0.05
STOP_GRACE_SECONDS = 5.0


class ProcessError(AssertionError):
    """A process that exited or never became ready; the message carries its log tail."""


class ManagedProcess:
    def __init__(
        self,
        argv: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None
        self.paused = False

    def start(self) -> None:
        self.paused = False
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self._popen is not None, "process not started"
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def describe(self, why: str) -> str:
        tail = "\n".join(self.log().splitlines()[-40:])
        return f"{why}\ncommand: {' '.join(self.argv)}\nlog {self.log_path}:\n{tail}"

    def wait_ready(self, probe: Callable[[], bool], timeout: float) -> None:
        """Poll ``probe`` until it returns True; fail at once if the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive:
                raise ProcessError(self.describe(f"exited with code {self.returncode}"))
            if probe():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ProcessError(self.describe(f"not ready after {timeout:.0f}s"))
            time.sleep(POLL_SECONDS)

    def wait_exit(self, timeout: float) -> int:
        assert self._popen is not None, "process not started"
        return self._popen.wait(timeout)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds."""
        if not self.alive:
            return self.returncode
        self._signal(signal.SIGTERM)
        self.resume()  # a stopped process acts on SIGTERM only once it runs again
        try:
            return self.wait_exit(grace)
        except subprocess.TimeoutExpired:
            return self.kill9()

    def terminate(self) -> None:
        if self.alive:
            self._signal(signal.SIGTERM)

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets but answers nobody, as a member cut
        off from the network (or frozen by a long GC or VM pause) does."""
        self._signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.paused:
            self._signal(signal.SIGCONT)
            self.paused = False

    def kill9(self) -> int:
        """SIGKILL the process group, as a crash would, and reap it."""
        self._signal(signal.SIGKILL)
        return self.wait_exit(STOP_GRACE_SECONDS)

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)


class Supervisor:
    """Starts processes and stops all of them at the end, whatever happened in between."""

    def __init__(self) -> None:
        self._processes: list[ManagedProcess] = []

    def start(self, process: ManagedProcess) -> ManagedProcess:
        self._processes.append(process)
        process.start()
        return process

    def stop_all(self) -> None:
        for process in self._processes:
            process.stop()
        self._processes.clear()
