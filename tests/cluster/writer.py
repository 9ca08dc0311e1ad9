"""A writer thread that puts unique keys through every endpoint in turn.

Each attempt writes a new key, so a key is written at most once: an acknowledged put
must be found with its value at exactly the revision the put returned. A failed or
timed-out attempt is not acknowledged and moves the writer on to the next endpoint.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from support.rawclient import RawClient, RpcFailure

from kvcore.api.etcdserverpb import rpc_pb2

ATTEMPT_SECONDS = 1.0


@dataclass(frozen=True)
class Ack:
    key: bytes
    value: bytes
    revision: int
    at: float  # time.monotonic() when the answer came


class FailoverWriter(threading.Thread):
    def __init__(self, endpoints: list[str], prefix: str) -> None:
        super().__init__(name="failover-writer", daemon=True)
        self.endpoints = endpoints
        self.prefix = prefix
        self.acks: list[Ack] = []
        self.failures: list[str] = []
        self._stopping = threading.Event()

    def run(self) -> None:
        clients = [RawClient(endpoint) for endpoint in self.endpoints]
        try:
            self._write(clients)
        finally:
            for client in clients:
                client.close()

    def _write(self, clients: list[RawClient]) -> None:
        current = 0
        attempt = 0
        while not self._stopping.is_set():
            key = f"{self.prefix}{attempt:06d}".encode()
            value = f"v{attempt}".encode()
            attempt += 1
            outcome = clients[current].call(
                "Put", rpc_pb2.PutRequest(key=key, value=value), timeout=ATTEMPT_SECONDS
            )
            if isinstance(outcome, RpcFailure):
                self.failures.append(f"{self.endpoints[current]}: {outcome}")
                current = (current + 1) % len(clients)
            else:
                self.acks.append(Ack(key, value, outcome.header.revision, time.monotonic()))

    def acked_after(self, moment: float) -> int:
        return sum(ack.at > moment for ack in self.acks)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=2 * ATTEMPT_SECONDS + 5)
        assert not self.is_alive(), "writer thread did not stop"
