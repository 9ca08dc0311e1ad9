"""etcdctl commands left running (lock and elect wait and hold), read line by line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading

from .client import BLOCKS_SECONDS, WAIT_SECONDS

EXIT_SECONDS = 10.0


class Running:
    """``etcdctl --endpoints=endpoint *args`` as a process; ``stop`` it (a context
    manager does) so that none is left behind."""

    def __init__(self, endpoint: str, *args: str) -> None:
        argv = ["etcdctl", f"--endpoints={endpoint}", *args]
        env = {**os.environ, "ETCDCTL_API": "3"}
        self._process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def line(self) -> str:
        """The next line it prints; fails if none comes in time or it exits first."""
        try:
            line = self._lines.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            raise AssertionError("etcdctl printed nothing in time") from None
        assert line is not None, f"etcdctl exited: {self.stderr()}"
        return line

    def silent(self) -> bool:
        """True if it prints nothing and keeps running for a while."""
        try:
            line = self._lines.get(timeout=BLOCKS_SECONDS)
        except queue.Empty:
            return self._process.poll() is None
        self._lines.put(line)
        return False

    def interrupt(self) -> int:
        """SIGTERM, as a user's Ctrl-C ends a lock or an election; the exit code."""
        self._process.send_signal(signal.SIGTERM)
        return self.wait()

    def wait(self) -> int:
        return self._process.wait(timeout=EXIT_SECONDS)

    def stderr(self) -> str:
        if self._process.poll() is None:
            return ""
        assert self._process.stderr is not None
        return self._process.stderr.read()

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=EXIT_SECONDS)
        self._reader.join(EXIT_SECONDS)
        for stream in (self._process.stdout, self._process.stderr):
            assert stream is not None
            stream.close()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
