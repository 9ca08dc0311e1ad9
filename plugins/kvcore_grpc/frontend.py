"""A client listener served by worker processes (``frontend_processes``): they share
its address and relay every call to this process over a unix socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from kvcore.rpc import API_FILES
from kvcore.transport import Services

from .binding import with_port
from .relay_core import RelayServer

if TYPE_CHECKING:
    from .transport import GrpcOptions

log = logging.getLogger(__name__)

START_SECONDS = 30.0  # for a worker to report listening
START_ATTEMPTS = 3
STOP_SECONDS = 10.0  # for a worker to exit once the relay closes


class Frontend:
    def __init__(
        self, address: str, services: Services, options: GrpcOptions, max_receive: int
    ) -> None:
        self._options = options
        self._max_receive = max_receive
        self._relay = RelayServer(API_FILES, services)
        self._dir: Path | None = None
        self._workers: list[asyncio.subprocess.Process] = []
        self._bound = address  # with the port the first worker bound
        self._starting = asyncio.Lock()  # a worker's HELLO must reach its own start
        self._watchers: set[asyncio.Task] = set()
        self._stopping = False

    async def start(self) -> None:
        """Start the workers one by one (the first picks an ephemeral port for all);
        ``OSError`` if one cannot listen."""
        self._dir = Path(tempfile.mkdtemp(prefix="kvcore-relay-"))
        socket_path = self._dir / "relay.sock"
        await self._relay.start(socket_path)
        try:
            for _ in range(self._options.frontend_processes):
                async with self._starting:
                    port = await self._start_worker(socket_path, self._bound)
                self._bound = with_port(self._bound, port)
        except BaseException:
            await self.stop(0)
            raise

    async def _replace_when_gone(
        self, worker: asyncio.subprocess.Process, socket_path: Path
    ) -> None:
        """A worker that dies while the node serves takes its connections with it; the
        clients reconnect, and a new worker takes its place on the address."""
        code = await worker.wait()
        if self._stopping:
            return
        log.warning("gRPC worker %d exited with %d: starting another", worker.pid, code)
        self._workers.remove(worker)
        async with self._starting:
            try:
                await self._start_worker(socket_path, self._bound)
            except OSError as exc:
                log.error("the gRPC worker was not replaced: %s", exc)

    async def _start_worker(self, socket_path: Path, address: str) -> int:
        """Start one worker; return its port. One killed by a signal before it listens
        (grpc's core has aborted at start-up, rarely) is started again."""
        for attempt in range(1, START_ATTEMPTS + 1):
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "kvcore_grpc.relay_worker", str(socket_path),
                address, self._options.model_dump_json(), str(self._max_receive),
                stdin=asyncio.subprocess.DEVNULL,
            )
            self._workers.append(worker)
            port = asyncio.ensure_future(self._relay.ports.get())
            exited = asyncio.ensure_future(worker.wait())
            done, _ = await asyncio.wait({port, exited}, timeout=START_SECONDS,
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in (port, exited):
                if task not in done:
                    task.cancel()
            if port in done:
                watcher = asyncio.ensure_future(self._replace_when_gone(worker, socket_path))
                self._watchers.add(watcher)
                watcher.add_done_callback(self._watchers.discard)
                return port.result()
            if exited not in done:
                why = "did not start in time"
            elif exited.result() < 0 and attempt < START_ATTEMPTS:
                log.warning("gRPC worker killed by signal %d at start-up; starting another",
                            -exited.result())
                continue
            else:
                why = f"exited with {exited.result()}"
            raise OSError(f"cannot listen for clients on {address}: a gRPC worker {why}")
        raise AssertionError("unreachable")

    async def stop(self, grace: float) -> None:
        self._stopping = True
        for watcher in list(self._watchers):
            watcher.cancel()
        await self._relay.stop(grace)  # each worker exits when its relay closes
        for worker in self._workers:
            try:
                await asyncio.wait_for(worker.wait(), STOP_SECONDS)
            except TimeoutError:
                log.warning("gRPC worker %d did not exit: killed", worker.pid)
                with contextlib.suppress(ProcessLookupError):
                    worker.kill()
                await worker.wait()
        self._workers.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
