"""The Lock and Election services of one server as seen by a gRPC client, with answers
rendered for comparison across servers.

Two servers given the same calls agree on everything but ids: member ids and terms
(support.normalize takes them out), the ids of leases a server grants itself (for
requests with lease 0) and revisions, which here count from the start of a session so
that a shared server's earlier writes do not matter.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from support.normalize import render
from support.rawclient import Outcome, RawClient, RpcFailure
from support.servers import Server

from kvcore.api.etcdserverpb import rpc_pb2 as pb
from kvcore.api.v3electionpb import v3election_pb2 as epb
from kvcore.api.v3electionpb import v3election_pb2_grpc
from kvcore.api.v3lockpb import v3lock_pb2_grpc

WAIT_SECONDS = 10.0
# How long a call that must block is watched before it is taken to block.
BLOCKS_SECONDS = 0.7
REVISION_FIELDS = ("revision", "create_revision", "mod_revision", "rev")

T = TypeVar("T")


class Recipes:
    """One channel to ``server``; close it, or use it as a context manager."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._channel = grpc.insecure_channel(server.endpoint)
        self.kv = RawClient(server.endpoint)
        lock = v3lock_pb2_grpc.LockStub(self._channel)
        election = v3election_pb2_grpc.ElectionStub(self._channel)
        self._methods: dict[str, Any] = {
            "Lock": lock.Lock,
            "Unlock": lock.Unlock,
            "Campaign": election.Campaign,
            "Proclaim": election.Proclaim,
            "Leader": election.Leader,
            "Resign": election.Resign,
            "Observe": election.Observe,
        }
        self.base = self.kv.revision()
        self._leases: dict[int, str] = {}

    def call(self, method: str, request: Message) -> Outcome:
        try:
            return self._methods[method](request, timeout=WAIT_SECONDS)
        except grpc.RpcError as exc:
            return RpcFailure(exc.code().name, exc.details() or "")

    def start(self, method: str, request: Message) -> grpc.Future:
        """A call left running (Lock and Campaign may wait)."""
        return self._methods[method].future(request, timeout=WAIT_SECONDS)

    def observe(self, name: bytes) -> Any:
        """Observe's stream: iterate it for answers, ``cancel()`` it when done."""
        return self._methods["Observe"](epb.LeaderRequest(name=name))

    def ok(self, method: str, request: Message) -> Any:
        outcome = self.call(method, request)
        assert not isinstance(outcome, RpcFailure), f"{method} failed: {outcome}"
        return outcome

    def give_up(self, method: str, request: Message, key: bytes) -> None:
        """Start ``method``, which must wait, cancel it, and wait for the server to
        delete the caller's ``key`` (etcd withdraws a canceled Lock or Campaign)."""
        call = self.start(method, request)
        assert self.waits(call, key), f"{method} did not wait"
        call.cancel()
        until(f"the key of a canceled {method} to go", lambda: not self.exists(key))

    def waits(self, call: grpc.Future, key: bytes) -> bool:
        """True if ``call`` (a Lock or a Campaign) has queued its ``key`` and is still
        waiting a while later."""
        until(f"{key!r} to be queued", lambda: call.done() or self.exists(key))
        time.sleep(BLOCKS_SECONDS)
        return not call.done()

    def exists(self, key: bytes) -> bool:
        return bool(self.kv.ok("Range", pb.RangeRequest(key=key)).kvs)

    def grant(self, lease: int, ttl: int = 60) -> int:
        granted = self.kv.ok("LeaseGrant", pb.LeaseGrantRequest(ID=lease, TTL=ttl))
        return granted.ID

    def revoke(self, *leases: int) -> None:
        for lease in leases:
            self.kv.ok("LeaseRevoke", pb.LeaseRevokeRequest(ID=lease))

    def keys(self, prefix: bytes) -> str:
        """The keys under ``prefix`` in create order, with their leases, as text."""
        request = pb.RangeRequest(
            key=prefix,
            range_end=prefix_end(prefix),
            sort_target=pb.RangeRequest.CREATE,
            keys_only=True,
        )
        found = self.kv.ok("Range", request)
        return self.text(found)

    def text(self, outcome: Outcome) -> str:
        """``outcome`` rendered, revisions counted from the session's start and each
        lease id (in decimal or as a key's hex suffix) named by its first appearance."""
        if not isinstance(outcome, RpcFailure):
            outcome = self._relative(outcome)
        rendered = render(outcome)
        for lease in re.findall(r"lease: (\d+)", rendered):
            self.name_lease(int(lease))
        for lease, name in self._leases.items():
            rendered = re.sub(rf"\b{lease}\b", name, rendered)
            rendered = re.sub(rf"/{lease:x}\b", "/" + name, rendered)
        return rendered

    def name_lease(self, lease: int) -> None:
        self._leases.setdefault(lease, f"<lease{len(self._leases)}>")

    def lease_of(self, key: bytes) -> int:
        """The lease id a session key names (``name/<lease in hex>``)."""
        lease = int(key.rsplit(b"/", 1)[1], 16)
        self.name_lease(lease)
        return lease

    def outcome(self, future: grpc.Future) -> str:
        try:
            return self.text(future.result(timeout=WAIT_SECONDS))
        except grpc.RpcError as exc:
            return str(RpcFailure(exc.code().name, exc.details() or ""))

    def _relative(self, message: Message) -> Message:
        copy = type(message)()
        copy.CopyFrom(message)
        _shift_revisions(copy, self.base)
        return copy

    def close(self) -> None:
        self.kv.close()
        self._channel.close()

    def __enter__(self) -> Recipes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def session_key(name: bytes, lease: int) -> bytes:
    """The key of ``lease``'s session in the lock or election ``name``."""
    return name + b"/" + f"{lease:x}".encode()


def prefix_end(prefix: bytes) -> bytes:
    """The range end of the keys under ``prefix``, which ends in "/"."""
    return prefix[:-1] + bytes([prefix[-1] + 1])


def _shift_revisions(message: Message, base: int) -> None:
    for field, value in message.ListFields():
        if field.type == field.TYPE_MESSAGE:
            for item in value if field.is_repeated else [value]:
                _shift_revisions(item, base)
        elif field.name in REVISION_FIELDS and value > 0:
            setattr(message, field.name, value - base)


def until(what: str, probe: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def on_both(session: Callable[[Server], T], pair: tuple[Server, Server]) -> tuple[T, T]:
    """``session`` run on kvcore and on etcd side by side: (kvcore's, etcd's)."""
    with ThreadPoolExecutor(2) as pool:
        ours, theirs = (pool.submit(session, server) for server in pair)
        return ours.result(), theirs.result()
