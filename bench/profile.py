"""Optional py-spy flame graph of a target's server process while it is under load."""

import contextlib
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

RATE = 100  # samples per second; with --nonblocking the server is never paused


@contextlib.contextmanager
def py_spy(pid: int, svg: Path) -> Iterator[None]:
    """Record `pid` into `svg` for the duration of the block."""
    exe = shutil.which("py-spy")
    if exe is None:
        raise RuntimeError("--py-spy needs py-spy: pip install py-spy")
    svg.parent.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "record", "--pid", str(pid), "--rate", str(RATE), "--nonblocking",
           "--output", str(svg)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes the graph on SIGINT
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
