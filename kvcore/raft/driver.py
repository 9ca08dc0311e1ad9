"""The asyncio driver: gives the pure raft core a clock, a disk and a network.

Readys are handled in loop callbacks (one task ticks). Between two Readys, request
handlers call :meth:`Driver.propose` and :meth:`Driver.read_index` directly (all on the
event loop), so every proposal made while the previous batch is being fsynced comes out
in the next Ready: one WAL write and one fsync per batch of concurrent writes. A lone
write (one request in flight) is synced on the loop itself, batches on the disk thread.
A received append or append ack is handled in the call that steps it, unless a Ready is
on disk: both are on the path of a cluster write's answer. A leader's appends go out
before its own fsync (``Ready.send_first``); everyone else's messages after it.
Committed entries that earlier Readys made durable are applied while the next batch
syncs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from kvcore.raft.commit_hold import CommitHold
from kvcore.raft.messages import Message, MessageType
from kvcore.raft.rawnode import RawNode, Ready
from kvcore.raft.readonly import ReadState
from kvcore.raft.status import SoftState
from kvcore.raft.storage import MemoryStorage
from kvcore.raft.types import ConfChange, ConfState, Entry, EntryType, HardState, Snapshot
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

    @property
    def pending_proposals(self) -> int:
        """Proposals made on this member and not yet applied: with at most one in
        flight, a Ready of at most one entry is synced on the loop, not the disk thread
        (under load the loop keeps taking requests while the disk syncs)."""


class Driver:
    """Runs raft's Readys as loop callbacks rather than a task: a wake-up is one
    ``call_soon``, a finished fsync one ``call_soon_threadsafe`` that goes straight on
    to send, apply and the next Ready, with no future or task step in between."""

    def __init__(
        self,
        node: RawNode,
        log: Log,
        machine: StateMachine,
        send: Callable[[list[Message]], None],
        tick_seconds: float,
        commit_hold_seconds: float = 0.0,
    ) -> None:
        self.node = node
        self._log = log
        self._machine = machine
        self._out = CommitHold(send, commit_hold_seconds, _call_later)
        self._tick_seconds = tick_seconds
        self._loop: asyncio.AbstractEventLoop | None = None  # set by run()
        self._scheduled = False  # a turn is queued on the loop
        self._busy = False  # a Ready is on disk (or being snapshotted): wait for it
        self._draining = False  # in _drain: what it calls must not start another
        self._failed: asyncio.Future[None] | None = None
        self._snapshotting: asyncio.Task | None = None
        # One thread: WAL writes stay ordered and never occupy the event loop.
        self._disk = Worker("kvcore-wal")

    def propose(self, data: bytes) -> None:
        """Raises ``ProposalDroppedError`` when no leader can take it now."""
        self.node.propose(data)
        self._wake()

    def read_index(self, ctx: bytes) -> None:
        self.node.read_index(ctx)
        self._wake()

    def propose_conf_change(self, cc: ConfChange) -> None:
        """Raises ``ProposalDroppedError`` while another change is pending or no leader."""
        self.node.propose_conf_change(cc)
        self._wake()

    def transfer_leader(self, to: int) -> None:
        self.node.transfer_leader(to)
        self._wake()

    def step(self, message: Message) -> None:
        self.node.step(message)
        at_once = message.type in _HANDLED_AT_ONCE and not self._busy and not self._draining
        if at_once and self._loop is not None:
            # An append to persist, or an ack that may commit: on the path of a write's
            # answer, so its Ready is handled now, not one loop turn later. Messages
            # that arrive while the disk is busy still batch into the next Ready.
            self._drain()
        else:
            self._wake()

    def campaign(self) -> None:
        self.node.campaign()
        self._wake()

    async def run(self) -> None:
        """Serve until cancelled; raises what a Ready's handling raised."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._failed = loop.create_future()
        ticker = asyncio.create_task(self._tick_loop())
        ticker.add_done_callback(self._ticker_done)
        self._wake()
        try:
            await self._failed
        finally:
            ticker.cancel()
            if self._snapshotting is not None:
                self._snapshotting.cancel()
            self._loop = None
            self._out.close()
            self._disk.close()

    def _ticker_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._fail(task.exception())

    def _fail(self, error: BaseException) -> None:
        if self._failed is not None and not self._failed.done():
            self._failed.set_exception(error)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            self.node.tick()
            self._wake()

    def _wake(self) -> None:
        # Proposals made in this loop turn (and while a Ready is on disk) wait for the
        # next turn, so they share one Ready and one fsync.
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_soon(self._turn)

    def _turn(self) -> None:
        self._scheduled = False
        if not self._busy and self._loop is not None:
            self._drain()

    def _drain(self) -> None:
        """Handle Readys until one has to wait for the disk, or none is left."""
        self._draining = True
        try:
            while self.node.has_ready():
                rd = self.node.ready()
                if self._start(rd):
                    return
                if self._finish(rd):
                    return
        except BaseException as exc:
            self._fail(exc)
        finally:
            self._draining = False

    def _start(self, rd: Ready) -> bool:
        """Persist ``rd``; True if that went to the disk thread (``_persisted`` follows)."""
        if rd.soft_state is not None:
            self._machine.on_soft_state(rd.soft_state)
        if rd.send_first and rd.messages:
            # A leader's appends reach the followers' disks while its own syncs.
            self._out.send(rd.messages)
        if rd.hard_state is None and not rd.entries and rd.snapshot is None:
            return False
        if rd.must_sync and self._lone(rd):
            # A lone write (one request in flight): sync it right here. The hops to the
            # disk thread and back cost more latency than the loop, which has nothing
            # else to do then, loses while it waits for the disk.
            self._log.persist(rd.hard_state, rd.entries, None)
            self._log.mirror(rd.hard_state, rd.entries, None)
            return False
        if rd.must_sync or rd.snapshot is not None:
            self._busy = True
            args = (rd.hard_state, rd.entries, rd.snapshot)
            early = _durable_already(rd)
            self._disk.submit(self._log.persist, args, partial(self._persisted, rd, early))
            if early:
                # Apply what earlier Readys made durable while this one syncs, rather
                # than one fsync later.
                self._apply(rd.committed_entries)
            return True
        # Only the commit index moved: it need not be durable (raft learns it again
        # after a crash), so the few bytes go to the page cache from here, without a
        # thread hop; the next synced batch makes them durable.
        self._log.persist(rd.hard_state, rd.entries, None, sync=False)
        self._log.mirror(rd.hard_state, rd.entries, rd.snapshot)
        return False

    def _lone(self, rd: Ready) -> bool:
        return rd.snapshot is None and len(rd.entries) <= 1 and self._machine.pending_proposals <= 1

    def _persisted(
        self, rd: Ready, applied: bool, result: None, error: BaseException | None
    ) -> None:
        """On the loop, as soon as the disk thread is done with ``rd``: carry on in the
        same callback (the waiting handlers resume in the next one)."""
        self._busy = False
        if self._loop is None:
            return  # stopped while the disk thread ran
        if error is not None:
            self._fail(error)
            return
        try:
            self._log.mirror(rd.hard_state, rd.entries, rd.snapshot)
            if self._finish(rd, applied):
                return
        except BaseException as exc:
            self._fail(exc)
            return
        self._drain()

    def _finish(self, rd: Ready, applied: bool = False) -> bool:
        """Send, apply (unless ``applied`` already) and advance a persisted Ready; True
        if a snapshot is being taken (it advances when done)."""
        if rd.messages and not rd.send_first:
            self._out.send(rd.messages)
        if rd.snapshot is not None:
            self._machine.restore(rd.snapshot)
        if rd.committed_entries and not applied:
            self._apply(rd.committed_entries)
        if rd.read_states:
            self._machine.on_read_states(rd.read_states)
        if rd.committed_entries and (plan := self._machine.snapshot_due()) is not None:
            self._busy = True
            self._snapshotting = asyncio.create_task(self._snapshot(plan))
            self._snapshotting.add_done_callback(partial(self._snapshot_done, rd))
            return True
        self.node.advance(rd)
        return False

    def _apply(self, entries: list[Entry]) -> None:
        if any(e.type == EntryType.CONF_CHANGE for e in entries):
            self._out.flush()  # a member this removes must still hear it committed
        self._machine.apply(entries)

    def _snapshot_done(self, rd: Ready, task: asyncio.Task) -> None:
        self._busy = False
        self._snapshotting = None
        if task.cancelled() or self._loop is None:
            return
        if (error := task.exception()) is not None:
            self._fail(error)
            return
        try:
            self.node.advance(rd)
        except BaseException as exc:
            self._fail(exc)
            return
        self._drain()

    async def _snapshot(self, plan: SnapshotPlan) -> None:
        storage = self._log.storage
        data = await self._disk.call(plan.read)
        snapshot = storage.create_snapshot(plan.index, plan.conf_state, data)
        await self._disk.call(self._log.persist_snapshot, snapshot)
        if plan.compact_to > storage.first_index():
            storage.compact(plan.compact_to)
        log.info("snapshot taken at index %d", plan.index)


# Received messages whose Ready is handled at once (Driver.step).
_HANDLED_AT_ONCE = frozenset({MessageType.APP, MessageType.APP_RESP})


def _call_later(delay: float, fn: Callable[[], None]) -> asyncio.TimerHandle:
    return asyncio.get_running_loop().call_later(delay, fn)


def _durable_already(rd: Ready) -> bool:
    """Are all of ``rd``'s committed entries persisted by earlier Readys? Then they may
    be applied before ``rd`` itself is on disk."""
    if not rd.committed_entries or rd.snapshot is not None:
        return False
    return not rd.entries or rd.committed_entries[-1].index < rd.entries[0].index
