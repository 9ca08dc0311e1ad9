"""The asyncio driver: gives the pure raft core a clock, a disk and a network.

One task runs the Ready loop; one ticks. Between two Readys, request handlers call
:meth:`Driver.propose` and :meth:`Driver.read_index` directly (all on the event loop),
so every proposal made while the previous batch is being fsynced comes out in the next
Ready: one WAL write and one fsync per batch of concurrent writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kvcore.raft.messages import Message
from kvcore.raft.rawnode import RawNode, Ready
from kvcore.raft.readonly import ReadState
from kvcore.raft.status import SoftState
from kvcore.raft.storage import MemoryStorage
from kvcore.raft.types import ConfChange, ConfState, Entry, HardState, Snapshot
from kvcore.util.worker import Worker

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class SnapshotPlan:
    """A snapshot to record: the application's state as of ``index``, as ``read``
    returns it; afterwards the log before ``compact_to`` is dropped (entries kept behind
    it let slow followers catch up without a whole snapshot). ``read`` is called once,
    on the disk thread, so a large state is serialized off the event loop."""

    index: int
    conf_state: ConfState
    read: Callable[[], bytes]
    compact_to: int


class Log(Protocol):
    """Where a Ready's state is made durable (``kvcore.server.raftlog.DurableLog``)."""

    def persist(
        self,
        hard_state: HardState | None,
        entries: list[Entry],
        snapshot: Snapshot | None,
        sync: bool = True,
    ) -> None:
        """Blocking: durable on return when ``sync``. Called from the worker thread."""

    def mirror(
        self, hard_state: HardState | None, entries: list[Entry], snapshot: Snapshot | None
    ) -> None:
        """Update the storage raft reads; on the event loop, after ``persist``."""

    def persist_snapshot(self, snapshot: Snapshot) -> None:
        """Blocking: save a snapshot this member took and drop the log it covers."""

    @property
    def storage(self) -> MemoryStorage:
        """The storage raft reads."""


class StateMachine(Protocol):
    """What the driver hands committed work to, on the event loop, in order."""

    def restore(self, snapshot: Snapshot) -> None:
        """Replace the application state with a snapshot's."""

    def apply(self, entries: Sequence[Entry]) -> None:
        """Apply committed entries (CONF_CHANGE ones via ``node.apply_conf_change``)."""

    def on_read_states(self, states: Sequence[ReadState]) -> None:
        """Answers to read_index requests."""

    def on_soft_state(self, state: SoftState) -> None:
        """The leader or this member's role changed."""

    def snapshot_due(self) -> SnapshotPlan | None:
        """A snapshot to take after the last apply, if one is due."""


class Driver:
    def __init__(
        self,
        node: RawNode,
        log: Log,
        machine: StateMachine,
        send: Callable[[list[Message]], None],
        tick_seconds: float,
    ) -> None:
        self.node = node
        self._log = log
        self._machine = machine
        self._send = send
        self._tick_seconds = tick_seconds
        self._wake = asyncio.Event()
        # One thread: WAL writes stay ordered and never occupy the event loop.
        self._disk = Worker("kvcore-wal")

    def propose(self, data: bytes) -> None:
        """Raises ``ProposalDroppedError`` when no leader can take it now."""
        self.node.propose(data)
        self._wake.set()

    def read_index(self, ctx: bytes) -> None:
        self.node.read_index(ctx)
        self._wake.set()

    def propose_conf_change(self, cc: ConfChange) -> None:
        """Raises ``ProposalDroppedError`` while another change is pending or no leader."""
        self.node.propose_conf_change(cc)
        self._wake.set()

    def transfer_leader(self, to: int) -> None:
        self.node.transfer_leader(to)
        self._wake.set()

    def step(self, message: Message) -> None:
        self.node.step(message)
        self._wake.set()

    def campaign(self) -> None:
        self.node.campaign()
        self._wake.set()

    async def run(self) -> None:
        """Serve until cancelled."""
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._tick_loop())
                tasks.create_task(self._ready_loop())
        finally:
            self._disk.close()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            self.node.tick()
            self._wake.set()

    async def _ready_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.node.has_ready():
                rd = self.node.ready()
                await self._handle(rd)
                self.node.advance(rd)

    async def _handle(self, rd: Ready) -> None:
        if rd.soft_state is not None:
            self._machine.on_soft_state(rd.soft_state)
        if rd.send_first and rd.messages:
            # A leader's appends reach the followers' disks while its own syncs.
            self._send(rd.messages)
        if rd.hard_state is not None or rd.entries or rd.snapshot is not None:
            if rd.must_sync or rd.snapshot is not None:
                await self._disk.call(self._log.persist, rd.hard_state, rd.entries, rd.snapshot)
            else:
                # Only the commit index moved: it need not be durable (raft learns it
                # again after a crash), so the few bytes go to the page cache from here,
                # without a thread hop; the next synced batch makes them durable.
                self._log.persist(rd.hard_state, rd.entries, None, sync=False)
            self._log.mirror(rd.hard_state, rd.entries, rd.snapshot)
        if rd.messages and not rd.send_first:
            self._send(rd.messages)
        if rd.snapshot is not None:
            self._machine.restore(rd.snapshot)
        if rd.committed_entries:
            self._machine.apply(rd.committed_entries)
            if (plan := self._machine.snapshot_due()) is not None:
                await self._snapshot(plan)
        if rd.read_states:
            self._machine.on_read_states(rd.read_states)

    async def _snapshot(self, plan: SnapshotPlan) -> None:
        storage = self._log.storage
        data = await self._disk.call(plan.read)
        snapshot = storage.create_snapshot(plan.index, plan.conf_state, data)
        await self._disk.call(self._log.persist_snapshot, snapshot)
        if plan.compact_to > storage.first_index():
            storage.compact(plan.compact_to)
        log.info("snapshot taken at index %d", plan.index)
